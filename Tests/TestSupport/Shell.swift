import Foundation

/// Runs a command (looked up on PATH), stdin from /dev/null, returning its status and output
/// (stdout and stderr together). Tests shell out to `ip`, `wg`, `nft` and the like to build and
/// inspect their labs; the libraries under test never do.
@discardableResult
public func sh(_ args: [String], check: Bool = true) throws -> (status: Int32, out: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = args
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = pipe
    p.standardInput = FileHandle.nullDevice
    try p.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    let out = String(decoding: data, as: UTF8.self)
    if check, p.terminationStatus != 0 {
        throw LabError("\(args.joined(separator: " ")) failed (\(p.terminationStatus)): \(out)")
    }
    return (p.terminationStatus, out)
}
