import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs a program in its own process group with stdin fed from memory, stdout and stderr
/// captured, and a deadline after which the whole group is killed (so a shell script's children
/// cannot keep the pipes open). posix_spawn and poll, no shell.
struct ChildProcess {
    enum Termination: Equatable {
        case exit(Int32)
        case signal(Int32)
        case timedOut
        case outputTooLong
    }

    struct Result {
        var termination: Termination
        var stdout: Data
        var stderr: Data
    }

    static func run(executable: String, arguments: [String], environment: [String: String], stdin input: Data,
                    timeoutSeconds: Double, maxOutputBytes: Int) throws -> Result {
        // A child that exits without reading its stdin must not kill us with SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        var inPipe: [Int32] = [0, 0], outPipe: [Int32] = [0, 0], errPipe: [Int32] = [0, 0]
        guard pipe(&inPipe) == 0, pipe(&outPipe) == 0, pipe(&errPipe) == 0 else {
            throw ExecDetectorError.failed(detector: executable, reason: "pipe: \(String(cString: strerror(errno)))")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        for fd in inPipe + outPipe + errPipe { posix_spawn_file_actions_addclose(&actions, fd) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        close(inPipe[0]); close(outPipe[1]); close(errPipe[1])
        guard spawned == 0 else {
            close(inPipe[1]); close(outPipe[0]); close(errPipe[0])
            throw ExecDetectorError.failed(detector: executable, reason: "cannot start \(executable): \(String(cString: strerror(spawned)))")
        }

        var stdinFD: Int32 = inPipe[1]
        _ = fcntl(stdinFD, F_SETFL, fcntl(stdinFD, F_GETFL) | O_NONBLOCK)
        var written = 0
        if input.isEmpty { close(stdinFD); stdinFD = -1 }
        var out = Data(), err = Data()
        var outOpen = true, errOpen = true
        var termination: Termination?
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        var buffer = [UInt8](repeating: 0, count: 65536)

        while outOpen || errOpen || stdinFD >= 0 {
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { termination = .timedOut; break }
            var fds: [pollfd] = []
            if outOpen { fds.append(pollfd(fd: outPipe[0], events: Int16(POLLIN), revents: 0)) }
            if errOpen { fds.append(pollfd(fd: errPipe[0], events: Int16(POLLIN), revents: 0)) }
            if stdinFD >= 0 { fds.append(pollfd(fd: stdinFD, events: Int16(POLLOUT), revents: 0)) }
            let ready = poll(&fds, nfds_t(fds.count), Int32(min(left * 1000, 1000)) + 1)
            if ready < 0 && errno != EINTR { break }
            for p in fds where p.revents != 0 {
                if p.fd == stdinFD {
                    let n = input.withUnsafeBytes { raw in write(stdinFD, raw.baseAddress! + written, input.count - written) }
                    if n > 0 { written += n }
                    if n < 0 && errno != EAGAIN && errno != EINTR { written = input.count }
                    if written >= input.count { close(stdinFD); stdinFD = -1 }
                    continue
                }
                let n = read(p.fd, &buffer, buffer.count)
                if n > 0 {
                    if p.fd == outPipe[0] { out.append(contentsOf: buffer[0..<n]) } else { err.append(contentsOf: buffer[0..<n]) }
                } else if n == 0 || (errno != EAGAIN && errno != EINTR) {
                    if p.fd == outPipe[0] { outOpen = false } else { errOpen = false }
                }
            }
            if out.count > maxOutputBytes || err.count > maxOutputBytes { termination = .outputTooLong; break }
        }
        if stdinFD >= 0 { close(stdinFD) }
        close(outPipe[0]); close(errPipe[0])

        if termination != nil {
            kill(-pid, SIGKILL)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            return Result(termination: termination!, stdout: out, stderr: err)
        }
        // The pipes closed: wait for the exit, still within the deadline.
        var status: Int32 = 0
        while true {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { break }
            if r < 0 && errno != EINTR { break }
            if deadline.timeIntervalSinceNow <= 0 {
                kill(-pid, SIGKILL)
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                return Result(termination: .timedOut, stdout: out, stderr: err)
            }
            usleep(2000)
        }
        kill(-pid, SIGKILL) // leftovers of the group, if any
        let signalNumber = status & 0x7f
        let ended: Termination = signalNumber == 0 ? .exit((status >> 8) & 0xff) : .signal(signalNumber)
        return Result(termination: ended, stdout: out, stderr: err)
    }
}
