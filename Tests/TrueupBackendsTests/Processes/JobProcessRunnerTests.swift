import Foundation
import Glibc
import Testing
@testable import TrueupBackends

@Suite("JobProcessRunner: at most once per run folder, whatever happens to the caller")
struct JobProcessRunnerTests {
    let runner = JobProcessRunner(graceSeconds: 1, pollMilliseconds: 20)

    func launch(_ folder: TemporaryFolder, _ script: String, environment: [String: String] = [:], timeout: Double = 30) throws -> JobLaunch {
        JobLaunch(runFolder: folder.child("run"), codeFolder: try folder.folder("code"), command: ["sh", "-c", script],
                  environment: childEnvironment.merging(environment) { $1 }, timeoutSeconds: timeout)
    }

    @Test func runsInTheCodeFolderWithItsEnvironmentAndCapturesLogAndExitCode() async throws {
        let folder = try TemporaryFolder()
        let job = try launch(folder, "echo to-stdout; echo to-stderr >&2; echo \"greeting=$GREETING\"; pwd; cat marker.txt; echo \"home=${HOME-unset}\"",
                             environment: ["GREETING": "hello world"])
        try "in-code-folder\n".write(toFile: (job.codeFolder as NSString).appendingPathComponent("marker.txt"), atomically: true, encoding: .utf8)

        let handle = try runner.start(job)
        #expect(try await runner.wait(handle) == .exited(code: 0))

        let log = try #require(folder.read("run/job.log"))
        #expect(log.contains("to-stdout\n"))
        #expect(log.contains("to-stderr\n"))
        #expect(log.contains("greeting=hello world\n"))
        #expect(log.contains(job.codeFolder + "\n"))
        #expect(log.contains("in-code-folder\n"))
        #expect(log.contains("home=unset\n"), "only the given environment reaches the job")
        #expect(folder.read("run/started")?.trimmingCharacters(in: .whitespacesAndNewlines) == String(handle.pid))
        #expect(folder.read("run/exit_code") == "0\n")
        #expect(try JobProcessRunner.inspect(runFolder: job.runFolder) == .finished(exitCode: 0))
    }

    @Test func aFinishedRunIsNeverStartedAgain() async throws {
        let folder = try TemporaryFolder()
        let counter = folder.child("counter")
        let job = try launch(folder, "echo ran >> \"$COUNTER\"", environment: ["COUNTER": counter])
        #expect(try await runner.wait(runner.start(job)) == .exited(code: 0))
        #expect(throws: JobRunError.alreadyStarted(runFolder: job.runFolder)) { try runner.start(job) }
        #expect(try String(contentsOfFile: counter, encoding: .utf8) == "ran\n")
    }

    @Test func aFailingCommandGivesItsExitCode() async throws {
        let folder = try TemporaryFolder()
        let job = try launch(folder, "echo failing; exit 3")
        #expect(try await runner.wait(runner.start(job)) == .exited(code: 3))
        #expect(try JobProcessRunner.inspect(runFolder: job.runFolder) == .finished(exitCode: 3))

        let missing = try TemporaryFolder()
        var unknown = try launch(missing, "")
        unknown.command = ["no-such-program-trueup"]
        #expect(try await runner.wait(runner.start(unknown)) == .exited(code: 127))
        #expect(missing.read("run/job.log")?.contains("no-such-program-trueup") == true, "the shell says what was not found")
    }

    @Test func aTimeoutKillsTheJobAndEveryProcessOfItsGroup() async throws {
        let folder = try TemporaryFolder()
        let job = try launch(folder, "sleep 101 & echo $! > \"$BG\"; sleep 102", environment: ["BG": folder.child("bg")], timeout: 0.5)
        let handle = try runner.start(job)
        #expect(try await runner.wait(handle) == .timedOut)

        #expect(ProcessTable.runningMembers(ofGroup: handle.pid).isEmpty)
        let background = try #require(folder.read("bg").flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) })
        #expect(!isRunning(background))
        #expect(!isRunning(handle.pid))
        #expect(try JobProcessRunner.inspect(runFolder: job.runFolder) == .timedOut)
    }

    @Test func aJobThatIgnoresSIGTERMIsKilledAfterTheGrace() async throws {
        let folder = try TemporaryFolder()
        // Ignored signals stay ignored across fork and exec: both sleeps ignore SIGTERM too.
        let job = try launch(folder, "trap '' TERM; sleep 103 & sleep 104", timeout: 0.3)
        let began = Date()
        let handle = try runner.start(job)
        #expect(try await runner.wait(handle) == .timedOut)
        #expect(Date().timeIntervalSince(began) >= 0.3 + runner.graceSeconds - 0.05, "SIGKILL comes only after the grace")
        #expect(ProcessTable.runningMembers(ofGroup: handle.pid).isEmpty)
    }

    @Test func whatAJobLeavesInTheBackgroundIsKilledWhenItEnds() async throws {
        let folder = try TemporaryFolder()
        let job = try launch(folder, "sleep 105 & echo $! > \"$BG\"; exit 0", environment: ["BG": folder.child("bg")])
        let handle = try runner.start(job)
        #expect(try await runner.wait(handle) == .exited(code: 0))
        let background = try #require(folder.read("bg").flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) })
        #expect(await eventually(5) { !isRunning(background) })
        #expect(ProcessTable.runningMembers(ofGroup: handle.pid).isEmpty)
    }

    @Test func aJobCleansUpItsGroupEvenWhenNobodyWaitsForIt() async throws {
        let folder = try TemporaryFolder()
        let job = try launch(folder, "sleep 106 & echo $! > \"$BG\"; exit 5", environment: ["BG": folder.child("bg")])
        _ = try runner.start(job)  // the starter is gone: only the job's own wrapper can clean up
        #expect(await eventually { folder.read("run/exit_code") != nil })
        let background = try #require(folder.read("bg").flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) })
        #expect(await eventually(5) { !isRunning(background) })
        #expect(try await eventually(5) { try JobProcessRunner.inspect(runFolder: job.runFolder) == .finished(exitCode: 5) })
    }

    @Test func aJobKilledFromOutsideDiedWithoutResult() async throws {
        let folder = try TemporaryFolder()
        let job = try launch(folder, "sleep 107")
        let handle = try runner.start(job)
        #expect(await eventually { FileManager.default.fileExists(atPath: folder.child("run/started")) })
        #expect(kill(-handle.pid, SIGKILL) == 0)
        #expect(try await runner.wait(handle) == .diedWithoutResult)
        #expect(try JobProcessRunner.inspect(runFolder: job.runFolder) == .diedWithoutResult)
        #expect(throws: JobRunError.alreadyStarted(runFolder: job.runFolder)) { try runner.start(job) }
    }

    @Test func aJobWhoseStarterDiedIsAdoptedNotRunAgain() async throws {
        let folder = try TemporaryFolder()
        let counter = folder.child("counter")
        let job = try launch(folder, "echo ran >> \"$COUNTER\"; sleep 2; exit 4", environment: ["COUNTER": counter])

        // The starter "dies": it keeps no lock descriptor after `start` and never waits. The lock
        // lives on in the job, exactly as after a kill -9 of the starter.
        _ = try runner.start(job)
        var pid: pid_t?
        #expect(try await eventually {
            if case .running(let written?) = try JobProcessRunner.inspect(runFolder: job.runFolder) { pid = written }
            return pid != nil
        })
        // A restarted trueup that tries to start the job again is refused; it adopts instead.
        let restarted = JobProcessRunner(graceSeconds: 1, pollMilliseconds: 20)
        #expect(throws: JobRunError.alreadyRunning(runFolder: job.runFolder)) { try restarted.start(job) }
        #expect(try await restarted.adopt(runFolder: job.runFolder, timeoutSeconds: 30, startedAt: Date()) == .exited(code: 4))

        #expect(try String(contentsOfFile: counter, encoding: .utf8) == "ran\n")
        #expect(try JobProcessRunner.inspect(runFolder: job.runFolder) == .finished(exitCode: 4))
        #expect(throws: JobRunError.alreadyStarted(runFolder: job.runFolder)) { try restarted.start(job) }
        #expect(try String(contentsOfFile: counter, encoding: .utf8) == "ran\n")
        if let pid { #expect(ProcessTable.runningMembers(ofGroup: pid).isEmpty) }
    }

    @Test func adoptEnforcesTheTimeoutFromTheOriginalStart() async throws {
        let folder = try TemporaryFolder()
        let job = try launch(folder, "sleep 108 & sleep 109", timeout: 600)
        let handle = try runner.start(job)
        #expect(await eventually { FileManager.default.fileExists(atPath: folder.child("run/started")) })
        // Started "29.8 s ago" with a 30 s timeout: about 0.2 s left. Counted from the adoption
        // instead, the wait would last 30 s; the bound leaves room for a loaded machine.
        let began = Date()
        let exit = try await runner.adopt(runFolder: job.runFolder, timeoutSeconds: 30, startedAt: Date().addingTimeInterval(-29.8))
        #expect(exit == .timedOut)
        #expect(Date().timeIntervalSince(began) < 15, "the deadline counts from startedAt")
        #expect(ProcessTable.runningMembers(ofGroup: handle.pid).isEmpty)
        #expect(try JobProcessRunner.inspect(runFolder: job.runFolder) == .timedOut)
    }

    @Test func aStarterThatDiedBeforeSpawningLeavesTheRunNeverStarted() async throws {
        let folder = try TemporaryFolder()
        #expect(try JobProcessRunner.inspect(runFolder: folder.child("missing")) == .neverStarted)
        let job = try launch(folder, "echo ran")
        #expect(try JobProcessRunner.inspect(runFolder: job.runFolder) == .neverStarted)

        // A starter holds the lock and has not spawned yet: running, with no pid.
        try FileManager.default.createDirectory(atPath: job.runFolder, withIntermediateDirectories: true)
        var starter = try RunFolderLock(path: folder.child("run/lock"), create: true)
        #expect(try starter?.tryLock(.exclusive) == true)
        #expect(try JobProcessRunner.inspect(runFolder: job.runFolder) == .running(pid: nil))
        #expect(throws: JobRunError.alreadyRunning(runFolder: job.runFolder)) { try runner.start(job) }

        // It dies: the lock is released with nothing started, so the run may start now, once.
        starter = nil
        #expect(try JobProcessRunner.inspect(runFolder: job.runFolder) == .neverStarted)
        await #expect(throws: JobRunError.neverStarted(runFolder: job.runFolder)) {
            try await runner.adopt(runFolder: job.runFolder, timeoutSeconds: 5, startedAt: Date())
        }
        #expect(try await runner.wait(runner.start(job)) == .exited(code: 0))
    }

    @Test func theJobInheritsOnlyStandardStreamsAndItsLock() async throws {
        let folder = try TemporaryFolder()
        // A descriptor some other part of trueup left inheritable must not reach the job.
        // F_DUPFD takes the lowest free descriptor from 500 up (and leaves it inheritable); dup2 to
        // a fixed number would silently close whatever another test running in parallel has
        // open there, such as a run folder's lock.
        let opened = open("/dev/null", O_RDONLY)
        #expect(opened >= 0)
        let stray = fcntl(opened, F_DUPFD, 500)
        close(opened)
        #expect(stray >= 500)
        defer { close(stray) }
        let job = try launch(folder, "ls /proc/$$/fd; readlink /proc/$$/fd/3; read line; echo \"stdin=[$line]\"")
        #expect(try await runner.wait(runner.start(job)) == .exited(code: 0))
        let log = try #require(folder.read("run/job.log"))
        let descriptors = Set(log.split(separator: "\n").prefix(while: { Int($0) != nil }).map(String.init))
        #expect(descriptors == ["0", "1", "2", "3"])
        #expect(log.contains(job.runFolder + "/lock\n"))
        #expect(log.contains("stdin=[]\n"), "stdin is /dev/null")
    }
}
