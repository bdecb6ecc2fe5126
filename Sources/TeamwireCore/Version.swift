/// teamwire's version: `--version` of every executable, and the .deb's version
/// (scripts/package reads the string literal below).
public enum TeamwireVersion {
    public static let string = "0.2.0"
}
