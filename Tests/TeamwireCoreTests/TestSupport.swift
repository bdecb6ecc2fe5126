@testable import TeamwireCore
import TestSupport

/// Runs a typed-throws body and returns its refusal, or nil when it succeeded.
/// (Avoids `catch let e as T` around typed throws, which crashes the Swift 6.3 SIL verifier.)
func refusal<T>(_ body: () throws(APIError) -> T) -> APIError? {
    do {
        _ = try body()
        return nil
    } catch {
        return error
    }
}

/// Runs a typed-throws body and returns its value, or the refusal.
func outcome<T>(_ body: () throws(APIError) -> T) -> Result<T, APIError> {
    do { return .success(try body()) } catch { return .failure(error) }
}

func hexBytes(_ s: String) -> [UInt8] { Hex.decode(s)! }

/// A deterministic public key from a small number (for map and allocator fixtures).
func fixedKey(_ n: Int) -> PublicKey {
    var b = [UInt8](repeating: 0, count: 32)
    b[0] = UInt8(n & 255)
    b[1] = UInt8(n >> 8 & 255)
    b[31] = 0x5a
    return try! PublicKey(rawValue: b)
}

func ip(_ s: String) -> IPv4Address { IPv4Address(s)! }
func prefix(_ s: String) -> IPv4Prefix { IPv4Prefix(s)! }
func endpoint(_ s: String) -> Endpoint { Endpoint(s)! }

extension Result {
    var failureValue: Failure? { if case .failure(let e) = self { e } else { nil } }
    var successValue: Success? { if case .success(let v) = self { v } else { nil } }
}
