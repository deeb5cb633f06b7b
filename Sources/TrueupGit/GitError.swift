import CLibGit2

/// A failure reading a repository: what went wrong, which libgit2 call said so, and what to do next.
///
/// A small struct rather than an enum so new kinds can be added without breaking callers; match on
/// `kind` (`.notFound`, `.ambiguous`, ...) when a caller needs to react to one case.
public struct GitError: Error, CustomStringConvertible, Sendable {
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A revision, path, object, remote or repository does not exist (`GIT_ENOTFOUND`).
        public static let notFound = Kind("not found")
        /// A short sha or name matches more than one object (`GIT_EAMBIGUOUS`).
        public static let ambiguous = Kind("ambiguous")
        /// The target already exists (`GIT_EEXISTS`), e.g. cloning into a non-empty folder.
        public static let exists = Kind("already exists")
        /// The revision or refspec is not well formed (`GIT_EINVALIDSPEC`).
        public static let invalidSpec = Kind("invalid spec")
        /// HEAD points at a branch that has no commits yet (`GIT_EUNBORNBRANCH`).
        public static let unbornBranch = Kind("unborn branch")
        /// The operation needs a working tree (`GIT_EBAREREPO`).
        public static let bareRepository = Kind("bare repository")
        /// The remote refused our credentials (`GIT_EAUTH`).
        public static let authentication = Kind("authentication")
        /// The remote's TLS certificate is not trusted (`GIT_ECERTIFICATE`).
        public static let certificate = Kind("certificate")
        /// A reference moved since it was read (`GIT_EMODIFIED`): someone else committed meanwhile.
        public static let modified = Kind("modified")
        /// Another process holds the lock file of a reference or the index (`GIT_ELOCKED`).
        public static let locked = Kind("locked")
        /// The repository is owned by someone else (`GIT_EOWNER`).
        public static let owner = Kind("owner")
        /// A path given by the caller is absolute, escapes the repository or is otherwise unusable.
        public static let invalidPath = Kind("invalid path")
        /// The path exists but is not what was asked for (a directory or symlink instead of a file).
        public static let wrongKind = Kind("wrong kind")
        /// Reading the working tree on disk failed.
        public static let io = Kind("i/o")
        /// Anything else libgit2 reports.
        public static let other = Kind("error")

        static func from(code: Int32) -> Kind {
            switch code {
            case GIT_ENOTFOUND.rawValue: .notFound
            case GIT_EAMBIGUOUS.rawValue: .ambiguous
            case GIT_EEXISTS.rawValue: .exists
            case GIT_EINVALIDSPEC.rawValue: .invalidSpec
            case GIT_EUNBORNBRANCH.rawValue: .unbornBranch
            case GIT_EBAREREPO.rawValue: .bareRepository
            case GIT_EAUTH.rawValue: .authentication
            case GIT_ECERTIFICATE.rawValue: .certificate
            case GIT_EOWNER.rawValue: .owner
            case GIT_EMODIFIED.rawValue: .modified
            case GIT_ELOCKED.rawValue: .locked
            case GIT_EPEEL.rawValue: .wrongKind
            default: .other
            }
        }
    }

    public var kind: Kind
    /// What we were trying to do, e.g. "resolve revision 'main' in /src/repo".
    public var operation: String
    /// The libgit2 function that failed, or nil when the check was our own.
    public var function: String?
    /// The libgit2 return code, or nil when the check was our own.
    public var code: Int32?
    /// libgit2's `git_error_last()` message, or our own explanation.
    public var message: String
    /// What the user can do about it.
    public var hint: String

    public init(
        kind: Kind, operation: String, function: String? = nil, code: Int32? = nil,
        message: String, hint: String
    ) {
        self.kind = kind
        self.operation = operation
        self.function = function
        self.code = code
        self.message = message
        self.hint = hint
    }

    public var description: String {
        var text = "cannot \(operation): \(message)"
        if let function, let code {
            text += " (\(function) returned \(code))"
        }
        if !hint.isEmpty {
            text += "; \(hint)"
        }
        return text
    }
}

/// Turns a libgit2 return code into a thrown `GitError`; call it on the line after the C call so
/// `git_error_last()` (thread-local) still describes this failure.
///
/// `hints` gives a hint per kind; kinds without one get a generic hint.
@inline(__always)
func check(
    _ code: Int32, _ function: String, _ operation: @autoclosure () -> String,
    hints: [GitError.Kind: String] = [:]
) throws(GitError) {
    guard code < 0 else { return }
    throw GitError.fromLibgit2(code: code, function: function, operation: operation(), hints: hints)
}

extension GitError {
    static func fromLibgit2(
        code: Int32, function: String, operation: String, hints: [Kind: String]
    ) -> GitError {
        var message = "libgit2 gave no message"
        if let last = git_error_last(), let text = last.pointee.message {
            message = String(cString: text).trimmingTrailingNewlines()
        }
        let kind = Kind.from(code: code)
        return GitError(
            kind: kind, operation: operation, function: function, code: code,
            message: message, hint: hints[kind] ?? defaultHint(for: kind)
        )
    }

    static func defaultHint(for kind: Kind) -> String {
        switch kind {
        case .notFound: "check that the name or path exists in the repository"
        case .ambiguous: "use a longer sha or a fully qualified ref such as refs/heads/main"
        case .invalidSpec: "check the spelling of the revision or refspec"
        case .unbornBranch: "the branch has no commits yet: commit something first"
        case .bareRepository: "this needs a working tree: use a clone that is not bare"
        case .authentication: "check the credentials or certificates for the remote"
        case .owner: "the repository is owned by another user"
        default: "check the repository with the git command line (git status, git fsck)"
        }
    }
}

extension String {
    func trimmingTrailingNewlines() -> String {
        var text = Substring(self)
        while let last = text.last, last == "\n" || last == "\r" {
            text = text.dropLast()
        }
        return String(text)
    }
}
