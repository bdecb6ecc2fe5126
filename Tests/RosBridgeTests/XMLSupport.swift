import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// A real XML parser (libxml2 through FoundationXML) for the rendered files: well-formedness,
/// then lookups by local name so that the default namespaces do not get in the way.
struct ParsedXML {
    let root: XMLElement

    init(root: XMLElement) { self.root = root }

    init(_ text: String) throws {
        let doc = try XMLDocument(xmlString: text, options: [])
        guard let r = doc.rootElement() else { throw XMLTestError("no root element") }
        root = r
    }

    /// Elements at a path of local names below the root, e.g. ["Domain", "Discovery", "Peers", "Peer"].
    func all(_ path: [String]) -> [XMLElement] {
        var level = [root]
        for name in path {
            level = level.flatMap { e in (e.children ?? []).compactMap { $0 as? XMLElement }.filter { $0.localName == name } }
        }
        return level
    }

    func text(_ path: [String]) -> String? { all(path).first?.stringValue }

    /// The comments directly inside the element at `path`.
    func comments(_ path: [String]) -> [String] {
        (all(path).first?.children ?? []).filter { $0.kind == .comment }.compactMap(\.stringValue)
    }
}

struct XMLTestError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

extension XMLElement {
    // (attribute(forName:) finds nothing on elements in a default namespace here)
    func attr(_ name: String) -> String? { (attributes ?? []).first { $0.localName == name || $0.name == name }?.stringValue }
}
