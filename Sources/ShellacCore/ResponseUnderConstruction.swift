// ResponseUnderConstruction: the response vcl_deliver or vcl_synth works on (resp.*), kept as
// close to the stored object as the VCL allows, and ResponseEdits, what it changed, for the
// writer of the response.

import ShellacHTTP
import ShellacStore

/// Where the response of vcl_deliver / vcl_synth stands. On a hit it starts as the stored
/// object, untouched: a field the object does not have is only noted as added, and a stored
/// field unset only as removed (the stored head is then written as it is, less the removed
/// lines, with the additions after it); reading a field scans the stored head; only a change to
/// an existing field or the status builds a head of its own.
///
/// The context keeps one for the request's life and starts it again in place for each response:
/// a response made anew and assigned was copied whole on the way (about 500 instructions a hit).
public struct ResponseUnderConstruction: Sendable {
    public var status: Int { didSet { replacesHead = true; edited = true } }
    public var reason: String { didSet { replacesHead = true; edited = true } }
    var object: StoredObject?
    var ownFields: HTTPFields?
    /// Fields set on an untouched stored object, none of which it has (or had before `removed`).
    private(set) var added = AddedFields()
    /// Fields of the stored object unset.
    private(set) var removed = FieldLines()
    /// Whether the response is written as a head of its own rather than as the stored head with
    /// `added` after it: the status or reason changed, a stored field changed, or there is no
    /// stored head. A flag, so the context reads it in place.
    private(set) var replacesHead = false
    /// Whether VCL changed anything.
    public private(set) var edited = false
    /// Whether there is a response (vcl_deliver or vcl_synth is running or has run): resp.* is
    /// unset otherwise.
    public private(set) var isActive = false

    /// No response yet.
    init() {
        status = 0
        reason = ""
    }

    /// Becomes a stored object's response, untouched.
    mutating func start(stored object: StoredObject) {
        start(status: object.status, reason: object.reason, object: object, fields: nil)
    }

    /// Becomes a response with this status line and head (`object` nil: none stored).
    mutating func start(status: Int, reason: String, object: StoredObject?, fields: HTTPFields?) {
        self.status = status
        self.reason = reason
        self.object = object
        ownFields = fields
        added = AddedFields()
        removed = FieldLines()
        replacesHead = object == nil || fields != nil
        edited = false
        isActive = true
    }

    /// No response any more (a restart), holding nothing of the last one.
    mutating func clear() {
        start(status: 0, reason: "", object: nil, fields: nil)
        isActive = false
    }

    public var fields: HTTPFields {
        if let ownFields { return ownFields }
        return added.appended(to: object?.fields(skipping: removed) ?? HTTPFields())
    }

    func field(_ name: String) -> String? {
        if let ownFields { return ownFields[name] }
        let nameBit = HTTPField.nameBit(name)
        if let value = added.value(of: name, nameBit: nameBit) { return value }
        return object?.field(named: name, nameBit: nameBit, skipping: removed)
    }

    /// Sets `name` to `value`; `line` is its field line when made already (a constant in VCL).
    mutating func set(_ name: String, nameBit: UInt64, _ value: String, line: String? = nil) {
        edited = true
        if ownFields == nil, let object, !object.hasField(named: name, nameBit: nameBit, skipping: removed),
           added.set(name, nameBit: nameBit, value, line: line) {
            return
        }
        materialise()
        ownFields?.set(name, value, nameBit: nameBit)
    }

    mutating func unset(_ name: String, nameBit: UInt64) {
        if ownFields == nil, let object {
            if added.remove(name, nameBit: nameBit) { edited = true }
            if let lines = object.fieldLines(named: name, nameBit: nameBit) {
                guard !lines.isSubset(of: removed) else { return }  // none stored, or removed already
                removed.formUnion(lines)
                edited = true
                return
            }
        }
        guard field(name) != nil else { return }
        edited = true
        materialise()
        ownFields?.remove(name, nameBit: nameBit)
    }

    private mutating func materialise() {
        guard ownFields == nil else { return }
        ownFields = fields
        added = AddedFields()
        removed = FieldLines()
        replacesHead = true
    }

    /// What was changed, for writing the response: nothing, additions to the stored head, or a
    /// whole head of its own (the context adds the automatic fields left out).
    var edits: ResponseEdits? {
        guard edited else { return nil }
        if !replacesHead { return .added(added, removing: removed, omitting: []) }
        return .replaced(status: status, reason: reason, fields: fields, omitting: [])
    }
}

/// The response head vcl_deliver settled on, when it changed anything.
public enum ResponseEdits: Sendable, Equatable {
    /// The stored head as it is but for the removed fields' lines, followed by the added fields
    /// (none of which it has).
    case added(AddedFields, removing: FieldLines, omitting: AutomaticFields)
    /// Boxed: the rare case kept out of line keeps every request-flow action that carries edits
    /// small (a larger one was copied through memcpy at each step, about 250 instructions a hit).
    indirect case replaced(status: Int, reason: String, fields: HTTPFields, omitting: AutomaticFields)

    /// The automatic fields not to write.
    public var omitted: AutomaticFields {
        switch self {
        case .added(_, _, let omitted), .replaced(_, _, _, let omitted): return omitted
        }
    }

    /// The fields of a stored object's response, so edited.
    public func applied(to object: StoredObject) -> HTTPFields {
        switch self {
        case .replaced(_, _, let replaced, _): return replaced
        case .added(let added, let removed, _): return added.appended(to: object.fields(skipping: removed))
        }
    }

    /// The fields of a fetched response, so edited (nothing stored, so nothing to remove).
    public func applied(to fields: HTTPFields) -> HTTPFields {
        switch self {
        case .replaced(_, _, let replaced, _): return replaced
        case .added(let added, _, _): return added.appended(to: fields)
        }
    }

    /// The same edits, leaving out `omitted`.
    func omitting(_ omitted: AutomaticFields) -> ResponseEdits {
        switch self {
        case .added(let added, let removed, _): return .added(added, removing: removed, omitting: omitted)
        case .replaced(let status, let reason, let fields, _):
            return .replaced(status: status, reason: reason, fields: fields, omitting: omitted)
        }
    }
}
