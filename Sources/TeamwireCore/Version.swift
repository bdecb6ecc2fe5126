/// teamwire's version: `--version` of every executable, and the .deb's version
/// (scripts/package reads the string literal below).
public enum TeamwireVersion {
    public static let current = "0.2.0"
}
