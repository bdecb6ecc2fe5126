import ArgumentParser
import Dispatch
import Foundation
import Synchronization

/// Runs `body` until it ends or Ctrl-C (SIGINT) cancels it; nil when interrupted before it
/// succeeded. Cancelling
/// closes the connection to the agent, which stops what it was doing for us (an enrolment
/// attempt, a ping): the command can then say where it stopped instead of dying mid-line.
func interruptible<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T? {
    let interrupted = Atomic<Bool>(false)
    let task = Task { try await body() }
    signal(SIGINT, SIG_IGN)
    let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
    source.setEventHandler {
        interrupted.store(true, ordering: .relaxed)
        task.cancel()
    }
    source.resume()
    defer {
        source.cancel()
        signal(SIGINT, SIG_DFL)
    }
    let result = await task.result
    // Done before Ctrl-C took effect: what was done counts (a join the coordinator accepted).
    if case .success(let value) = result { return value }
    if interrupted.load(ordering: .relaxed) { return nil }
    return try result.get()
}

/// Says where Ctrl-C stopped the command, on standard error; the exit status for it (130:
/// 128 + SIGINT, as shells expect).
func interrupted(_ message: String) -> ExitCode {
    stderrLine(message)
    return ExitCode(130)
}

/// One line on standard error (progress that must not mix with output on stdout).
func stderrLine(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
