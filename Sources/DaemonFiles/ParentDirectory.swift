/// The directory a file path names its file in ("/a/b" for "/a/b/c", "/" for "/c", "." for "c").
public func parentDirectory(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return slash == path.startIndex ? "/" : String(path[..<slash])
}
