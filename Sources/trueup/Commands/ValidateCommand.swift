import ArgumentParser
import Foundation
import TrueupCore
import TrueupEngine
import TrueupGit

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check schemas, references, cycles and variables of every environment.",
        discussion: "Lists every error, sorted, as path/in/repo.yaml:LINE:COL: message (field.path). Exit 0 when valid, 1 otherwise."
    )

    @OptionGroup var repository: RepositoryOptions

    @Option(name: .long, help: "The revision to read: branch, tag, sha, HEAD~2.")
    var rev: String = "HEAD"

    @Option(name: .long, help: "Validate only this environment (and what it extends).")
    var env: String?

    @Flag(name: .long, help: "Read the working tree instead of a commit, to check before committing.")
    var worktree = false

    @Option(name: .long, help: "text or json.")
    var format: OutputFormat = .text

    func validate() throws {
        if format == .markdown { throw ValidationError("validate prints text or json: use --format text or --format json") }
    }

    func run() throws {
        let source = SpecSource(repositoryPath: repository.repo, revision: rev, worktree: worktree, specRoot: repository.path)
        let state: DesiredState
        do {
            // The schemas compile on another core while libgit2 starts.
            SchemaCatalog.compileAhead()
            let opened = try GitRepository(discoveringFrom: source.repositoryPath)
            // Only the diagnostics and the environments' names are shown: resources are not kept.
            state = try SpecLoader(cache: existingStateCache(repositoryRoot: opened.root)).load(source, in: opened, only: env, keeping: .checksOnly)
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(1)
        }
        switch format {
        case .json:
            print(ValidationReport(state).json)
        default:
            for diagnostic in state.diagnostics {
                print(diagnostic.description)
            }
            let errors = state.errors.count
            let summary = errors == 0
                ? "valid: \(state.environments.keys.sorted().joined(separator: ", ")) at \(state.revision.commit == "worktree" ? "the working tree" : state.revision.shortCommit)"
                : "\(errors) error\(errors == 1 ? "" : "s")"
            FileHandle.standardError.write(Data("\(summary)\n".utf8))
        }
        if !state.isValid { throw ExitCode(1) }
    }

    /// The parsed-spec cache of the state folder, when that folder exists: validate never makes
    /// one (a fresh clone in CI gets no `.trueup/`), but where trueup has run before it reads
    /// and parses only the files that earlier runs have not seen.
    private func existingStateCache(repositoryRoot: String) -> ParsedSpecCache? {
        let folder = Workspace.stateDirectory(repository.stateDir, repositoryRoot: repositoryRoot)
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else { return nil }
        return ParsedSpecCache(stateDirectory: folder)
    }
}
