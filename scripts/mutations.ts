// The mutations `npm run mutate` applies, one at a time: each a small, realistic break of a
// claim, with the tests that should notice it (test files, ava --match titles, or `kernel:6.1`
// for the kernel matrix's check on that kernel). `find` must occur exactly once in `file`. Add
// one with each claim you add.
//
// Left out as equivalent (no behaviour a user can see changes): the native "exit already known"
// check in Process::kill (the JS layer checks first, and a spawned child is reaped the moment it
// exits), and the reaper started in spawn's into_spawned (every Subprocess watches its own exit
// from its first tick); in lib/sync.ts, the JS check that stdin is a pipe before the input goes
// to the native side (which writes input only to a stdin pipe anyway).
//
// Not caught by a test, and why: src/tree.rs's two checks that an orphan is not a child the
// package spawned (`process::is_spawned`). Without them `reapOrphans` could take such a child's
// exit, but only by winning a race with the watcher thread, which reaps the child the moment it
// exits; __test__/tree.test.ts races it from a tight loop and has not seen it lose.

export interface Mutation {
  file: string
  find: string
  replace: string
  why: string
  tests: string[]
}

const T = (name: string) => `__test__/${name}.test.ts`

export const mutations: Mutation[] = [
  // src/process.rs: the reap rule, the exit cache, signals
  { file: 'src/process.rs', find: 'sys::waitid_pidfd(self.fd(), self.reap)', replace: 'sys::waitid_pidfd(self.fd(), false)', why: 'never reap, even a child of ours', tests: [T('subprocess')] },
  { file: 'src/process.rs', find: 'if self.owned && matches!(e.raw_os_error(), Some(libc::EPERM | libc::ENOSYS))', replace: 'if false && matches!(e.raw_os_error(), Some(libc::EPERM | libc::ENOSYS))', why: 'no kill(pid) where pidfd_send_signal is refused', tests: [T('seccomp')] },
  { file: 'src/process.rs', find: 'sys::kill_child(-self.pid, signal).map_err(at("kill"))', replace: 'sys::kill_child(self.pid, signal).map_err(at("kill"))', why: 'killGroup signals the leader only', tests: [T('cli')] },
  { file: 'src/process.rs', find: '        if let Some(p) = lock(spawned()).get(&pid) {\n            return Ok(p.clone());', replace: '        if let Some(p) = lock(spawned()).get(&pid).filter(|_| false) {\n            return Ok(p.clone());', why: 'fromPid on a spawned child opens its own handle, which can steal the reap', tests: [T('any-process'), T('subprocess')] },
  { file: 'src/process.rs', find: 'Ok(sys::pidfd_fdinfo_pid(self.fd()).map_err(at("read"))? == Some(-1))', replace: 'Ok(sys::pidfd_fdinfo_pid(self.fd()).map_err(at("read"))? == Some(-2))', why: 'before 6.9 the reap is never seen', tests: ['*reap wakes nobody*'] },
  { file: 'src/process.rs', find: '                    if left.is_zero() {\n                        return Ok(None);', replace: '                    if left.is_zero() && false {\n                        return Ok(None);', why: 'the blocking wait ignores its timeout', tests: ['*blocking wait with a timeout*'] },
  { file: 'src/process.rs', find: '        if !features::get().info_exit {\n            return Ok(Some(NativeExit::unknown()));', replace: '        if true {\n            return Ok(Some(NativeExit::unknown()));', why: 'PIDFD_INFO_EXIT never read', tests: [T('any-process')] },

  { file: 'lib/subprocess.ts', find: '      } catch (err) {\n        process.nextTick(() => {\n          throw err\n        })\n      } finally {', replace: '      } catch (err) {\n        throw err\n      } finally {', why: "a throwing 'exit' listener keeps the rest of the loop's batch from their exits", tests: ["*exit together*"] },
  // src/exit.rs: the record
  { file: 'src/exit.rs', find: 'libc::CLD_DUMPED => Self::signaled(info.status, true),', replace: 'libc::CLD_DUMPED => Self::signaled(info.status, false),', why: 'a core dump is not reported', tests: ['*core-dumped*'] },
  { file: 'src/exit.rs', find: 'libc::CLD_KILLED => Self::signaled(info.status, false),', replace: 'libc::CLD_KILLED => Self::exited(info.status),', why: 'a signal reads as an exit code', tests: [T('pidfd'), T('signals')] },
  { file: 'src/exit.rs', find: '            si_code: info.code,', replace: '            si_code: info.signo,', why: 'siginfo.siCode from the wrong field', tests: ['*core-dumped*', T('pidfd')] },
  { file: 'src/exit.rs', find: 'Self::signaled(libc::WTERMSIG(status), libc::WCOREDUMP(status))', replace: 'Self::exited(libc::WTERMSIG(status))', why: 'PIDFD_INFO_EXIT status: a signal read as an exit', tests: [T('any-process'), T('node-interop')] },

  // src/watch.rs: the watcher
  { file: 'src/watch.rs', find: '            Ok(Some(_)) => complete(&process, Ok(())),\n            Err(e) => complete(&process, Err(e)),\n        }\n    }\n    Ok(true)', replace: '            Ok(Some(_)) => {}\n            Err(e) => complete(&process, Err(e)),\n        }\n    }\n    Ok(true)', why: 'an exit collected by the watcher is never told', tests: [T('waits'), T('from-child')] },
  { file: 'src/watch.rs', find: '    if !channel.libuv\n', replace: '    if channel.libuv\n', why: 'the loop peek off under Node (on under Bun)', tests: [T('from-child'), T('bun')] },
  { file: 'src/watch.rs', find: '        .enable_time()\n', replace: '', why: 'no timer for the lingering processes (before 6.9)', tests: ['kernel:6.1'] },
  { file: 'src/watch.rs', find: '            Ok(None) if process.lingers() => watcher.linger(&process),', replace: '            Ok(None) if process.lingers() => {}', why: 'before 6.9 an exited non-child is never looked at again', tests: ['kernel:6.1'] },
  { file: 'src/watch.rs', find: '    if sys::epoll_wait_refused() {', replace: '    if false {', why: "tokio's reactor where epoll_wait is refused (it panics; no exit comes)", tests: ['*epoll_wait refused*'] },
  { file: 'src/sys.rs', find: '                POLL_REFUSED.store(true, Relaxed)', replace: '                return Err(e)', why: 'a refused poll is not replaced by an epoll set', tests: ['*matrix: poll *'] },
  { file: 'src/helper.rs', find: '    if sys::helper_calls_refused().is_some() {', replace: '    if false {', why: "a helper whose exchange seccomp refuses is still used (every spawn EPIPE)", tests: ['*matrix: sendmsg*'] },
  { file: 'src/lib.rs', find: '    f.pidfd_open && f.waitid_pidfd && features::epoll_usable()', replace: '    f.pidfd_open && f.waitid_pidfd', why: 'a pidfd that cannot join an epoll set still serves (every spawn fails)', tests: ['*matrix: epoll_ctl*'] },
  { file: 'src/hooks.rs', find: '        0 => HELPER_DEADLINE,', replace: '        0 => std::env::var("PIDFD_HELPER_DEADLINE").ok().and_then(|v| v.parse().ok()).map_or(HELPER_DEADLINE, Duration::from_millis),', why: 'the helper deadline read from an inherited environment', tests: [T('environment')] },
  { file: 'helper/guard.c', find: '\t\t(void)kill(-group, SIGKILL);', replace: '\t\t(void)group;', why: "a guard spares the group its child leads", tests: [T('guard')] },
  { file: 'helper/guard.c', find: '\tif (n == 1)\n\t\treturn 0; /* released: Node cleaned up itself */', replace: '', why: 'a released guard acts all the same', tests: [T('guard')] },
  { file: 'lib/subprocess.ts', find: '    this.sub[asyncScope].runInAsyncScope(() => {', replace: '    ;((run: () => void) => run())(() => {', why: "a child's 'exit' is emitted outside its spawn's async context (node:test blames another test, and the run ends early)", tests: ['*under node:test*'] },
  { file: 'lib/subprocess.ts', find: '        process.nextTick(() => {\n          throw err\n        })\n      } finally {\n        this.sub[settleExited](exit, null)', replace: '      } finally {\n        this.sub[settleExited](exit, null)', why: "a throwing 'exit' listener's error is swallowed", tests: ["*throwing 'exit' listener*"] },
  { file: 'lib/subprocess.ts', find: '      ;(this.#cleanup ??= []).push(() => guard.release())', replace: '      ;(globalThis as unknown as { kept: unknown[] }).kept = [guard]', why: "a child's guard is never released", tests: [T('guard')] },
  // src/watch.rs: the environment's own set, collected by its event loop
  { file: 'src/watch.rs', find: '                unwatch(&process, &mut w);\n                let _ = watch(&process, &mut w);', replace: '                unwatch(&process, &mut w);', why: "a terminated worker's children are never reaped (its loop's set is dropped, not handed to the thread)", tests: ['*terminate them mid-wait*'] },
  { file: 'src/watch.rs', find: '    if matches!(&w.watched, Some((_, Some(set))) if !ours(set)) {', replace: '    if false {', why: "a child waited for from another environment stays with its spawner's loop, which may be blocked", tests: ['*spawning thread is blocked*'] },
  { file: 'src/watch.rs', find: '            reaper.set_ref(false);', replace: '', why: "the loop's watcher keeps Node alive once no ref'd wait is left", tests: ['*unref:*'] },
  { file: 'src/watch.rs', find: '        let on_loop = (libuv && room && features::switches().loop_reap)', replace: '        let on_loop = (room && features::switches().loop_reap)', why: "the loop's set under Bun (whose uv_* abort)", tests: [T('bun')] },
  { file: 'src/watch.rs', find: '                    exit.write_to(out);', replace: '                    let _ = (exit, out);', why: 'the records handed over with a batch are not written (the exit reads as zeros)', tests: [T('subprocess')] },
  { file: 'src/watch.rs', find: '                        told.extend(ids.into_iter().map(|id| (id, exit.clone())));', replace: '                        told.extend(ids.into_iter().map(|id| (id, exit.clone())).filter(|_| false));', why: "the loop reaps a spawned child and tells its environment's waiters nothing", tests: [T('subprocess')] },

  // src/spawn.rs
  { file: 'src/spawn.rs', find: '            STDIO_IGNORE if i >= 3 => None,\n', replace: '', why: "'ignore' beyond stdio opens /dev/null", tests: ['*250 to 600*'] },
  { file: 'src/spawn.rs', find: '            drop(here);\n            drop(sources);\n            drop(cgroup);\n            return adopt_reply(reply, ours, on_loop);', replace: '            let kept = (here, sources, cgroup);\n            let r = adopt_reply(reply, ours, on_loop);\n            drop(kept);\n            return r;', why: 'a child whose pidfd found no room is killed after it ran', tests: ['*0 to 11*'] },
  { file: 'src/spawn.rs', find: '            None => Some(sys::open_cwd().map_err(at("open"))?),', replace: '            None => None::<OwnedFd>,', why: "the child starts in the helper's cwd, not ours", tests: [T('helper'), T('shortages')] },
  { file: 'src/spawn.rs', find: '            let dir = if dir.is_empty() { "." } else { dir };', replace: '            let dir = if dir.is_empty() { "/" } else { dir };', why: 'an empty PATH entry is not the current directory', tests: ['*empty PATH entry*'] },

  { file: 'src/spawn.rs', find: "    if file.contains('/') {", replace: "    if file.contains('/') && false {", why: 'a path with a slash is searched in PATH', tests: [T('subprocess'), T('parity'), T('drop-in')] },
  { file: 'src/spawn.rs', find: '        .unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".to_owned());', replace: '        .unwrap_or_default();', why: 'no default search path where the env has no PATH', tests: ['*no PATH*'] },
  { file: 'src/spawn.rs', find: '        None => sys::environment(),', replace: '        None => Vec::new(),', why: 'a child without the env option gets an empty environment', tests: [T('subprocess')] },
  { file: 'src/spawn.rs', find: '            STDIO_INHERIT => Some(dup(i as RawFd).map_err(at("dup"))?),', replace: '            STDIO_INHERIT => dup(i as RawFd).ok(),', why: "'inherit' of a descriptor we do not have is silently closed (child_process throws EBADF)", tests: ['*does not have*'] },
  { file: 'src/spawn.rs', find: '    let cwd = opts.cwd.map(|c| cstring("cwd", c)).transpose()?;', replace: '    let cwd: Option<CString> = None;', why: 'the cwd option is ignored', tests: [T('subprocess'), T('errors')] },
  { file: 'src/spawn.rs', find: '                detached: opts.detached,', replace: '                detached: false,', why: 'detached does not make a new session', tests: [T('parity'), T('subprocess')] },

  { file: 'src/features.rs', find: '            spawn_memfd: on("PIDFD_SPAWN_MEMFD"),', replace: '            spawn_memfd: false,', why: 'the helper runs from the file beside the .node, not a memfd', tests: ['*memfd by default*'] },
  { file: 'src/info.rs', find: '        suid: at4(&uid, 2),\n        fsuid: at4(&uid, 3),', replace: '        suid: at4(&uid, 3),\n        fsuid: at4(&uid, 2),', why: "info()'s /proc fallback swaps the saved and filesystem uids", tests: ['*eight ids*'] },

  // src/helper.rs: faults
  { file: 'src/helper.rs', find: '            Outcome::NoChild(e) if attempt == 0 => drop(e),', replace: '            Outcome::NoChild(e) if attempt == 0 => return Err(e),', why: 'no second helper when the first provably made no child', tests: [T('faults')] },
  { file: 'src/helper.rs', find: '                Err(e) if e.raw_os_error() == Some(libc::ECONNRESET) => {', replace: '                Err(e) if e.raw_os_error() == Some(libc::ECONNRESET) && false => {', why: 'a helper that died with the request unread is not taken for gone', tests: [T('faults')] },
  { file: 'src/helper.rs', find: '            crate::spawn::abandon(pid);\n            let detail', replace: '            let detail', why: 'a child stuck before exec is left behind', tests: [T('faults')] },
  { file: 'src/helper.rs', find: '            error: heard.failed,', replace: '            error: None,', why: "the helper dying after its child's pid came turns an exec failure (ENOENT) into a child that exited 127", tests: ['*failed to exec, before its reply*'] },
  { file: 'helper/pidfd-helper.c', find: '\tsend_message(job->sock, MSG_FAILED, outcome->err, stage, 0, -1);', replace: '\t(void)job;', why: 'a child whose exec failed does not say so itself: with its helper dead, the failure reads as an exit 127', tests: ['*failed to exec, before its reply*'] },
  { file: 'src/helper.rs', find: 'if stage == STAGE_CLONE && matches!(errno, libc::EPERM | libc::ENOSYS) {', replace: 'if stage == STAGE_CLONE && matches!(errno, libc::EPERM) {', why: 'a clone seccomp refuses with ENOSYS is an error, not the in-process fallback', tests: ['*CLONE_PARENT refused with ENOSYS*'] },
  { file: 'src/identity.rs', find: '    b"Groups:",\n', replace: '', why: 'after process.setgroups() children keep the old supplementary groups (the helper is not replaced)', tests: ['*process.setgroups()*'] },
  { file: 'src/identity.rs', find: '        cgroup,\n        nice: sys::nice(),', replace: '        cgroup: { drop(cgroup); Vec::new() },\n        nice: sys::nice(),', why: 'after Node moves to another cgroup, children start in the old one (the helper is not replaced)', tests: ['*moves to another cgroup*'] },
  { file: 'src/helper.rs', find: 'if h.identity.as_ref() != Some(now)', replace: 'if h.identity.as_ref() != Some(now) && false', why: 'the helper keeps the identity it started with', tests: [T('identity')] },
  { file: 'src/helper.rs', find: '        message.len()\n    } else {\n        HEADER', replace: '        HEADER\n    } else {\n        HEADER', why: 'a request goes to the helper in two messages (two wake-ups)', tests: ['*one sendmsg*'] },
  { file: 'src/identity.rs', find: 'read_proc("/proc/thread-self/status")', replace: 'std::fs::read("/proc/thread-self/status")', why: 'the identity check reads /proc status 32 bytes at a time', tests: ['*one sendmsg*'] },
  { file: 'src/helper.rs', find: '            if left.is_zero() {\n                return Err(timed_out("was busy with another spawn"));', replace: '            if left.is_zero() && false {\n                return Err(timed_out("was busy with another spawn"));', why: 'a thread queued behind a stuck spawn waits without bound', tests: ['*two threads*'] },
  { file: 'src/helper.rs', find: '                Err(e) => return Err(e),\n            }\n        }\n        let State::Running', replace: '                Err(_) => *state = State::Unavailable,\n            }\n        }\n        let State::Running', why: 'a shortage at the helper start is remembered for good', tests: [T('shortages')] },

  // src/features.rs
  { file: 'src/features.rs', find: '    if !short {', replace: '    if short || !short {', why: 'a probe that met a shortage is remembered', tests: [T('seccomp')] },
  { file: 'src/features.rs', find: 'info_exit: f.info_exit && !disabled("infoExit") && !disabled("getInfo"),', replace: 'info_exit: f.info_exit && !disabled("infoExit"),', why: 'PIDFD_DISABLE=getInfo leaves infoExit on', tests: ['*getInfo alone*'] },

  // helper/pidfd-helper.c
  { file: 'helper/pidfd-helper.c', find: '\tsend_message(SOCK_FD, MSG_STARTED, 0, 0, (int)syscall(SYS_getpid), -1);', replace: '', why: 'the child does not announce its pid', tests: [T('faults')] },
  { file: 'helper/pidfd-helper.c', find: '\t(void)syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, NULL, 8);', replace: '', why: "the helper dies of the terminal's signals", tests: [T('faults')] },
  { file: 'helper/pidfd-helper.c', find: '\t(void)syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, 8);\n\n\t/* As execvp', replace: '\n\t/* As execvp', why: 'children keep the blocked mask', tests: [T('faults')] },
  { file: 'helper/pidfd-helper.c', find: '\tif (pidfd >= 0)\n\t\tclose(pidfd);\n\tfree(strings)', replace: '\tfree(strings)', why: "the helper keeps every child's pidfd", tests: ['*closes its copy*'] },
  { file: 'helper/pidfd-helper.c', find: '\t\tno_clone_pidfd = 1;', replace: '\t\treturn pid;', why: 'no clone without CLONE_PIDFD where seccomp refuses it', tests: [T('seccomp')] },
  { file: 'helper/pidfd-helper.c', find: '\tset_slice(0);\n', replace: '', why: "children keep the helper's short slice", tests: ['*default slice*'] },
  { file: 'helper/pidfd-helper.c', find: '\tif ((mode_t)req->umask != own.umask)', replace: '\tif (0)', why: "children keep the helper's umask", tests: ['*umask and limits*'] },
  { file: 'helper/pidfd-helper.c', find: '\tattr.runtime = ns;', replace: '\tattr.policy = SCHED_OTHER;\n\tattr.runtime = ns;', why: 'the slice setter resets the policy', tests: ['*chrt*'] },

  // lib/pidfd.ts
  { file: 'lib/pidfd.ts', find: '    if (this.#refed && this.#id !== 0) release()\n    this.#refed = false', replace: '    this.#refed = false', why: 'unref() of a pending wait keeps Node alive', tests: ['*unref()*'] },
  { file: 'lib/pidfd.ts', find: '    if (exitSlots[0] === 3 && this.#child) {', replace: '    if (exitSlots[0] === -1 && this.#child) {', why: 'fromChild has no fallback to the child\'s record', tests: [T('from-child'), '*libuv reaps first*'] },
  { file: 'lib/pidfd.ts', find: "    if (this.#exit) throw systemError('ESRCH', syscall)", replace: '', why: 'kill() after the exit goes to the kernel', tests: [T('pidfd'), T('reuse')] },
  { file: 'lib/pidfd.ts', find: '  return typeof answer === \'function\' ? answer.call(child) : null', replace: '  return null', why: 'fromChild on a Subprocess loses its record', tests: ['*instanceof*'] },
  { file: 'lib/pidfd.ts', find: 'const IS_NODE = !(\'bun\' in process.versions) && !(\'deno\' in process.versions)', replace: 'const IS_NODE = true', why: 'the loop peek under Bun', tests: [T('bun')] },
  { file: 'lib/pidfd.ts', find: '  if (!Number.isInteger(timeout) || timeout < 0 || timeout > 2 ** 31 - 1) {', replace: '  if (false) {', why: 'a bad wait timeout is accepted', tests: [T('pidfd'), T('waits')] },

  // lib/subprocess.ts
  { file: 'lib/subprocess.ts', find: '    if (this.#pipes.some(flushable)) process.nextTick(() => this.#flush())', replace: '    if (this.#pipes.every(flushable)) process.nextTick(() => this.#flush())', why: "no drain at the exit where a descriptor is not a pipe of ours, so 'close' never comes", tests: ['*paused on purpose*'] },
  { file: 'lib/normalize.ts', find: 'const opts: Record<string, unknown> = { __proto__: null, ...(options as object | undefined) }', replace: 'const opts: Record<string, unknown> = (options ?? {}) as Record<string, unknown>', why: 'options read through the prototype', tests: ['*polluted*'] },
  { file: 'lib/normalize.ts', find: '  for (const key in source) {', replace: '  for (const key of Object.keys(source)) {', why: 'inherited env keys dropped', tests: ['*inherited through*'] },
  { file: 'lib/subprocess.ts', find: '    if (this.#exit) made = Promise.resolve(this.#exit as SpawnedExit)', replace: '    if (this.#exit && false) made = Promise.resolve(this.#exit as SpawnedExit)', why: 'exited first read after the exit never settles', tests: ['*exited is one promise*'] },
  { file: 'lib/subprocess.ts', find: '    if (exit) settle?.resolve(exit as SpawnedExit)', replace: '    if (exit) void settle', why: 'exited read before the exit never settles', tests: ['*exited is one promise*'] },
  { file: 'src/info.rs', find: '    let dir = cgroup2_place_here(path).dir?;', replace: '    let dir = format!("/sys/fs/cgroup{path}");', why: 'the cgroup id through /proc assumes v2 at /sys/fs/cgroup', tests: ['*under the cgroup2 mount wherever it is*', 'kernel:6.1'] },
  { file: 'src/info.rs', find: '            format!("{}{rel}", point.trim_end_matches(\'/\'))', replace: '            rel.to_string()', why: 'a nested cgroup is looked for outside the cgroup2 mount', tests: ['*under the cgroup2 mount wherever it is*'] },
  { file: 'src/sys.rs', find: '        for internal in 32..=34 {\n            add_signal_bit(&mut all, internal);\n        }\n', replace: '', why: 'an in-process child starts with the C library\'s own signals ignored', tests: ['*every signal at its default*'] },
  { file: 'lib/pidfd.ts', find: '    this.#native?.close()\n', replace: '', why: 'a closed handle keeps its descriptor until collected', tests: ['*leave no descriptor open*'] },
  { file: 'lib/signals.ts', find: '    const name = signal.toUpperCase()', replace: '    const name = signal', why: 'a lowercase signal name refused where child_process takes it', tests: ['*as child_process reads it*'] },
  { file: 'lib/subprocess.ts', find: '    const number = signal === 0 ? 0 : toChildSignal(signal)', replace: "    const number = typeof signal === 'number' ? signal : toChildSignal(signal)", why: 'kill(99) goes to the kernel (EINVAL) instead of ERR_UNKNOWN_SIGNAL', tests: ['*as child_process reads it*'] },
  { file: 'lib/subprocess.ts', find: '      for (const stream of resolved.handedOver) stopReading(stream)', replace: '      void resolved.handedOver', why: 'a stream handed to a child is still read here', tests: ['*no byte is lost*'] },
  { file: 'lib/subprocess.ts', find: "const ASYNC_ERRORS = new Set(['EACCES', 'EAGAIN', 'EMFILE', 'ENFILE', 'ENOENT'])", replace: "const ASYNC_ERRORS = new Set(['EACCES', 'ENOENT'])", why: 'EMFILE and EAGAIN thrown instead of emitted', tests: [T('shortages')] },
  { file: 'lib/subprocess.ts', find: '    return this.#signal(signal, (own, number) => own.killGroup(number))', replace: '    return this.#signal(signal, (own, number) => own.kill(number))', why: 'killGroup signals the leader only', tests: [T('cli')] },
  { file: 'lib/normalize.ts', find: "    return (value as number) > 0 ? (value as number) : undefined\n  }\n  if (typeof value !== 'number') throw invalidArgType('timeout'", replace: "  }\n  if (typeof value !== 'number') throw invalidArgType('timeout'", why: 'a timeout past 2 ** 53 - 1 refused before Node 25 (seen under Node 22 and 24)', tests: [T('errors'), '*a timeout of 2*'] },
  { file: 'lib/normalize.ts', find: "    if (value !== ((value as number) | 0)) throw invalidArgType(name, 'int32', value)", replace: "    if (typeof value !== 'number' || value !== (value | 0)) throw invalidArgType(name, 'int32', value)", why: "a Symbol or BigInt uid or gid is ERR_INVALID_ARG_TYPE before Node 25, not V8's TypeError (seen under Node 22 and 24)", tests: [T('errors'), '*Symbol or a BigInt uid*'] },
  { file: 'lib/normalize.ts', find: '    if (args.length > 0 && NODE_MAJOR >= 24 && !warnedShellArgs) {', replace: '    if (args.length > 0 && !warnedShellArgs) {', why: 'DEP0190 where this Node does not warn', tests: ['*DEP0190*'] },
  { file: 'lib/subprocess.ts', find: "  return s !== null && s.readable && !(s as { [kUsedAsStdio]?: boolean })[kUsedAsStdio]", replace: "  return s !== null && s.readable && s.readableFlowing !== false && !(s as { [kUsedAsStdio]?: boolean })[kUsedAsStdio]", why: 'a paused stdout is not drained', tests: ['*paused on purpose*'] },
  { file: 'lib/subprocess.ts', find: '    const noStdio = spawnError !== null && (spawnError.code === \'EMFILE\' || spawnError.code === \'ENFILE\')', replace: '    const noStdio = false', why: 'EMFILE leaves stdio defined', tests: ['*first spawn*'] },
  { file: 'lib/subprocess.ts', find: '    return this.#signal(signal, (own, number) => own.kill(number))', replace: '    return false', why: 'kill() does nothing', tests: [T('subprocess'), T('parity')] },

  { file: 'lib/subprocess.ts', find: '    return this.#exit?.rusage ?? undefined', replace: '    return undefined', why: 'resourceUsage() has nothing, even in the exit listener', tests: ['*resourceUsage() inside*'] },
  { file: 'lib/exit.ts', find: "    rusage:\n      s[10] === 1\n        ? Object.freeze({", replace: "    rusage:\n      s[10] === 1\n        ? ({", why: 'the rusage of the record is not frozen', tests: ['*frozen all the way down*'] },

  // lib/exec.ts
  { file: 'lib/exec.ts', find: 'chunks.push(chunk.slice(0, maxBuffer - before))', replace: 'chunks.push(chunk)', why: 'output past maxBuffer kept', tests: [T('exec')] },
  { file: 'lib/exec.ts', find: '  const maxBuffer = Number(opts.maxBuffer)', replace: '  const maxBuffer = (opts.maxBuffer ?? MAX_BUFFER) as number', why: 'an own maxBuffer of null or undefined replaced by the 1 MiB default', tests: [T('exec'), '*maxBuffer null*', '*maxBuffer undefined*'] },
  { file: 'lib/exec.ts', find: 'killed: child.killed || killedHere,', replace: 'killed: child.killed,', why: 'a kill that found the child gone is not reported', tests: [T('exec')] },
  { file: 'lib/exec.ts', find: '          error.stdout = stdout', replace: '          void stdout', why: 'a promisified rejection without its output', tests: [T('exec')] },
  { file: 'lib/exec.ts', find: "if (usage && !Object.hasOwn(failure, 'resourceUsage'))", replace: 'if (false)', why: 'the error without the usage', tests: [T('exec')] },
  { file: 'lib/exec.ts', find: "opts.shell = typeof opts.shell === 'string' ? opts.shell : true", replace: 'opts.shell = true', why: 'exec ignores the shell named', tests: [T('exec')] },
  { file: 'lib/exec.ts', find: '  if (Array.isArray(args)) args = [...args]', replace: '  if (Array.isArray(args)) args = args as unknown[]', why: "the caller's args array kept, not copied: changed after the call, the error's cmd names what did not run", tests: ['*args array is copied*'] },
  { file: 'lib/exec.ts', find: '    if (timer) clearTimeout(timer)\n    timer = undefined\n    if (!cb) return', replace: '    if (!cb) return', why: "the timeout option's timer outlives the close: Node stays up until it fires", tests: ['*no timer of the timeout option*'] },
  { file: 'lib/exec.ts', find: 'const length = streamEncoding ? Buffer.byteLength(chunk as string, streamEncoding) : chunk.length', replace: 'const length = chunk.length', why: 'maxBuffer counted in characters, not bytes, where an encoding is set', tests: ['*maxBuffer counts bytes*'] },

  // lib/register.ts, lib/trace.ts: the whole-app switch and the trace
  { file: 'lib/child_process.ts', find: 'export const _forkChild = chosen._forkChild', replace: 'export const _forkChild = undefined', why: "pidfd/child_process without node:child_process's _forkChild", tests: [T('index'), '*_forkChild*'] },
  { file: 'lib/register.ts', find: 'syncBuiltinESMExports()\n', replace: 'void syncBuiltinESMExports\n', why: 'ESM named exports made before the swap keep Node\'s functions', tests: ['*CommonJS and ESM*'] },
  { file: 'lib/register.ts', find: 'let ours: Module | null | undefined\n', replace: 'let ours: Module | null | undefined = (require(\'../index.js\'), undefined)\n', why: 'the package loaded at start, whether or not anything spawns', tests: ['*loads nothing native*'] },
  { file: 'lib/register.ts', find: "const served = ['spawn', 'fork', 'exec',", replace: "const served = ['spawn', 'exec',", why: "fork left Node's under the flag", tests: ["*spawn with an IPC channel and fork are the package's*"] },
  { file: 'lib/subprocess.ts', find: '    if (reading.length > 0) {', replace: '    if (false) {', why: "the drain at the exit resumes an untouched stdout while stderr is still being read: tinyexec's pattern loses stdout (killed under Node 24, whose 'exit' comes first; the release check runs it there)", tests: [T('read-order')] },
  { file: 'lib/subprocess.ts', find: '    if (this.sub[readingPipes]() || this.sub.channel) setImmediate(', replace: '    if (this.sub.channel) setImmediate(', why: "'exit' before the ends of the pipes the child closed: a reader of stderr first loses stdout (tinyexec)", tests: [T('read-order')] },
  { file: 'lib/subprocess.ts', find: '    if (this.sub[readingPipes]() || this.sub.channel) setImmediate(', replace: '    if (this.sub[readingPipes]()) setImmediate(', why: "'exit' before the end of the IPC channel the child's death closed: a child killed mid-send gives 'exit' before 'disconnect'", tests: [T('fork'), '*SIGKILLed while a send*'] },
  { file: 'lib/trace.ts', find: 'constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT', replace: 'constants.O_WRONLY | constants.O_CREAT', why: 'trace lines written over each other', tests: ['*PIDFD_TRACE*'] },
  { file: 'lib/trace.ts', find: 'constants.O_CREAT | constants.O_NONBLOCK', replace: 'constants.O_CREAT', why: 'a trace FIFO nobody reads holds the app open for ever', tests: [T('trace'), '*FIFO nobody reads*'] },
  { file: 'lib/trace.ts', find: '    if (this.#queued + bytes.length > MAX_QUEUED) {', replace: '    if (false) {', why: "a trace sink that stopped reading holds the app's lines without bound, and none is counted as dropped", tests: [T('trace'), '*reader stopped reading*'] },
  { file: 'lib/trace.ts', find: 'cwd: cwd ?? process.cwd(), startMs', replace: 'cwd: process.cwd(), startMs', why: "a trace line's cwd is the parent's, not the one the child was spawned in", tests: ["*each line's cwd*"] },
  { file: 'lib/sync.ts', find: '  const trace = traceStart(file, spawnargs, cwd)', replace: '  const trace = traceStart(file, spawnargs, undefined)', why: "spawnSync's trace line has the parent's cwd", tests: ["*each line's cwd*"] },
  { file: 'lib/cli/time.ts', find: "env: { ...process.env, PIDFD_TRACE: path, NODE_OPTIONS: nodeOptions },", replace: "env: { ...process.env, PIDFD_TRACE: path },", why: '--trace does not reach the tree\'s Node processes', tests: ['*pidfd time --trace*'] },

  // lib/tree.ts, lib/cli/time.ts: the command's whole tree
  { file: 'lib/tree.ts', find: '    callNative(() => binding.setChildSubreaper(true))', replace: '    callNative(() => binding.setChildSubreaper(false))', why: 'not a subreaper: orphans go to init, uncounted and unlisted', tests: [T('tree')] },
  { file: 'lib/tree.ts', find: "sum[key] = key === 'maxRSS' ? Math.max(a[key], b[key]) : a[key] + b[key]", replace: 'sum[key] = a[key] + b[key]', why: "the tree's peak RSS the sum of its processes', not the largest", tests: ['*peak RSS is the largest*'] },
  { file: 'lib/tree.ts', find: '    ageMs: Math.max(0, Math.round((uptime - startTicks / USER_HZ) * 1000)),', replace: '    ageMs: 0,', why: "a leftover's age always 0", tests: ["*leftover's age*"] },
  { file: 'lib/tree.ts', find: '/^VmRSS:\\s+(\\d+)/m', replace: '/^VmSize:\\s+(\\d+)/m', why: "a leftover's RSS read from its address space's size", tests: ["*leftover's age*"] },
  { file: 'lib/tree.ts', find: '  return b ? add(a, b) : a', replace: '  return a', why: 'the orphans reaped here left out of the tree\'s usage', tests: ['*CPU counted in the tree*'] },
  { file: 'lib/cli/time.ts', find: 'tree.signal(signal, child.pid === undefined ? [] : [child.pid])', replace: 'tree.signal(signal)', why: 'the timeout misses what left the group below a command that still runs', tests: ['*escaped the process group*'] },
  { file: 'lib/cli/time.ts', find: "  if (o.failOnLeftovers && left.length > 0) return EXIT.LEFTOVERS", replace: '', why: '--fail-on-leftovers changes nothing', tests: ['*fail-on-leftovers*'] },

  { file: 'lib/cli/time.ts', find: '    if (i >= options.warmup) measured.push(run.report)', replace: '    measured.push(run.report)', why: '--warmup runs measured', tests: ['*--runs N --warmup K*'] },
  { file: 'lib/cli/time.ts', find: '(sorted[mid - 1]! + sorted[mid]!) / 2', replace: 'sorted[mid]!', why: '--runs: the median of an even count is the upper middle run, not the mean of the two', tests: ['*even count*'] },
  { file: 'lib/cli/time.ts', find: '  return rank(b) > rank(a) ? b : a', replace: '  return rank(b) >= rank(a) ? b : a', why: '--runs: of two failing commands the last one\'s status, not the first', tests: ['*fail differently*'] },
  { file: 'lib/cli/time.ts', find: '[EXIT.BUDGET]: 3, [EXIT.LEFTOVERS]: 2', replace: '[EXIT.BUDGET]: 2, [EXIT.LEFTOVERS]: 3', why: '--runs: 122 wins over 123', tests: ['*fail differently*'] },
  { file: 'lib/cli/time.ts', find: '/^\\d+$/.test(raw) ? Number(raw) : ', replace: '', why: '--kill-signal 9 refused: a signal number is not taken', tests: ['*bare numbers and signal numbers*'] },
  { file: 'lib/cli/time.ts', find: "parseDurationMs('--timeout', values.timeout)", replace: "parseDurationMs('--timeout', /^[0-9.]+$/.test(values.timeout) ? `${values.timeout}ms` : values.timeout)", why: 'a bare --timeout read as milliseconds', tests: ['*bare numbers and signal numbers*'] },
  { file: 'lib/cli/time.ts', find: "parseDurationMs('--kill-after', values['kill-after'])", replace: "parseDurationMs('--kill-after', /^[0-9.]+$/.test(values['kill-after']) ? `${values['kill-after']}ms` : values['kill-after'])", why: 'a bare --kill-after read as milliseconds', tests: ['*bare numbers and signal numbers*'] },
  { file: 'lib/cli/time.ts', find: "parseDurationMs('--max-cpu', values['max-cpu'])", replace: "parseDurationMs('--max-cpu', /^[0-9.]+$/.test(values['max-cpu']) ? `${values['max-cpu']}ms` : values['max-cpu'])", why: 'a bare --max-cpu read as milliseconds', tests: ['*bare numbers and signal numbers*'] },
  { file: 'lib/cli/time.ts', find: "parseSizeKiB('--max-rss', values['max-rss'])", replace: "parseSizeKiB('--max-rss', /^[0-9.]+$/.test(values['max-rss']) ? `${values['max-rss']}B` : values['max-rss'])", why: 'a bare --max-rss number refused (it is KiB)', tests: ['*bare numbers and signal numbers*'] },
  { file: 'lib/cli/time.ts', find: '    status = status === null ? ending : worse(status, ending)', replace: '    status = ending', why: '--runs exits with the last run\'s status, hiding an earlier failure', tests: ['*--runs N --warmup K*'] },
  // cgroup v2: helper/pidfd-helper.c, src/spawn.rs, src/helper.rs, lib/cgroup.ts, lib/cli/time.ts
  { file: 'helper/pidfd-helper.c', find: '\targs.flags = CLONE_VFORK | CLONE_PARENT | CLONE_PIDFD | CLONE_INTO_CGROUP;', replace: '\targs.flags = CLONE_VFORK | CLONE_PARENT | CLONE_PIDFD;', why: 'CLONE_INTO_CGROUP dropped: the child runs outside its cgroup', tests: ['*from its first act*'] },
  { file: 'helper/pidfd-helper.c', find: '\tif (req->cgroup_source >= 0 && !job->in_cgroup) {', replace: '\tif (0) {', why: 'without clone3 the child never writes itself into cgroup.procs', tests: ['*writes itself into cgroup.procs*'] },
  { file: 'src/helper.rs', find: '(!features::get().clone_into_cgroup, F_NO_CLONE3)', replace: '(false, F_NO_CLONE3)', why: 'PIDFD_DISABLE=cloneIntoCgroup does not reach the helper', tests: ['*writes itself into cgroup.procs*'] },
  { file: 'src/spawn.rs', find: '    if cgroup.is_some() {\n        return Err(SysError::new("spawn", libc::ENOSYS)', replace: '    if false {\n        return Err(SysError::new("spawn", libc::ENOSYS)', why: 'in-process, the cgroup is ignored and the program runs outside it', tests: ['*in-process (no spawn helper)*', '*--cgroup required where none*'] },
  { file: 'lib/cgroup.ts', find: "      writeFileSync(join(this.path, 'cgroup.kill'), '1')", replace: '', why: 'cgroup.kill never written: the tree is not ended', tests: ['*keeps forking*', '*setsid escapee*'] },
  { file: 'lib/cgroup.ts', find: "    return /^populated 1$/m.test(events)", replace: '    return false', why: 'cgroup.events misread: the tree counts as empty at once', tests: ['*keeps forking*', '*--leftovers wait*'] },
  { file: 'lib/cgroup.ts', find: "    const cpuStat = read(join(this.path, 'cpu.stat'))", replace: '    const cpuStat = null as string | null', why: 'cpu.stat not read: a daemon nobody reaped has no CPU', tests: ['*method of each figure*'] },
  { file: 'lib/cgroup.ts', find: "userUs: field('user_usec'), systemUs: field('system_usec')", replace: "userUs: field('system_usec'), systemUs: field('user_usec')", why: "cpu.stat's user and system time swapped", tests: ['*burns user time has it in userUs*', "*in the kernel's units*"] },
  { file: 'lib/cgroup.ts', find: 'Math.round(Number(peak.trim()) / 1024)', replace: 'Number(peak.trim())', why: "memory.peak's bytes reported as KiB (1024 times too big)", tests: ["*in the kernel's units*", '*memory.peak is at least 200 MB*', 'kernel:6.12'] },
  { file: 'lib/cgroup.ts', find: "    const peak = read(join(this.path, 'memory.peak'))", replace: '    const peak = null as string | null', why: 'memory.peak not read: the peak is the largest single process\'s', tests: ['*memory.peak is at least 200 MB*', 'kernel:6.12'] },
  { file: 'lib/cli/time.ts', find: '    peakMemory: s?.memoryPeakKiB != null ?', replace: '    peakMemory: s?.memoryPeakKiB !== undefined ?', why: 'the report says memory.peak where there is none', tests: ['*method of each figure*'] },
  { file: 'lib/cli/time.ts', find: '    const pids = cgroup.moveOut()', replace: '    const pids: number[] = []', why: 'leftovers kept in the cgroup, which is never removed', tests: ['*moved to pidfd*'] },
  { file: 'lib/cli/time.ts', find: '  while (timedOut() && !gone()) await sleep(20)\n}', replace: '}', why: 'after a timeout the survivors of its first signal are not waited for (nor killed)', tests: ['*setsid escapee*'] },
  { file: 'lib/cli/time.ts', find: "    if (options.cgroup === 'required') {\n      trace?.done()", replace: "    if (options.cgroup === ('never' as string)) {\n      trace?.done()", why: '--cgroup required runs the command without a cgroup', tests: ['*--cgroup required where none*'] },
  // lib/cli/time.ts
  { file: 'lib/cli/time.ts', find: '  const ownGroup = options.timeoutMs !== undefined', replace: '  const ownGroup = false', why: 'the timeout ends the direct child only', tests: [T('cli')] },
  { file: 'lib/cli/time.ts', find: "  process.on('SIGHUP', forward)", replace: '', why: 'SIGHUP not passed on', tests: ['*SIGHUP*'] },
  { file: 'lib/cli/time.ts', find: '  const cpuMs = (u.userCPUTime + u.systemCPUTime) / 1000', replace: '  const cpuMs = u.userCPUTime / 1000', why: '--max-cpu counts user time only', tests: ['*--max-cpu*'] },
  { file: 'lib/cli/time.ts', find: '  if (report.timedOut) return EXIT.TIMEOUT\n  if (report.breaches.length > 0) return EXIT.BUDGET', replace: '  if (report.breaches.length > 0) return EXIT.BUDGET\n  if (report.timedOut) return EXIT.TIMEOUT', why: '123 wins over 124', tests: [T('cli')] },
  { file: 'lib/cli/time.ts', find: '    if (!isBrokenPipe(err)) toStderr', replace: '    if (isBrokenPipe(err) || true) throw err\n    toStderr', why: 'a report that cannot be written changes the status', tests: [T('cli')] },
  // lib/cli/units.ts, lib/cli/timer.ts: sizes and durations by a strict grammar, timers past 24.8 days
  { file: 'lib/cli/units.ts', find: "const NUMBER = '([0-9]+", replace: "const NUMBER = '([0-9.]*", why: 'numbers loosened to any run of digits and dots (5.M, .5s, 1.5.5M)', tests: [T('units')] },
  { file: 'lib/cli/units.ts', find: "(?:ib?|b)?)?$`, 'i')", replace: "(?:ib?|b)?)?`, 'i')", why: 'a size with anything after it taken (512Mfoo)', tests: [T('units')] },
  { file: 'lib/cli/units.ts', find: "  const match = SIZE.exec(text.trim())", replace: "  const match = SIZE.exec(text)", why: 'a size with surrounding whitespace refused', tests: [T('units')] },
  { file: 'lib/cli/units.ts', find: "MS_PER[(match[2] ?? 's').toLowerCase()]", replace: "MS_PER[(match[2] ?? 'ms').toLowerCase()]", why: 'a bare duration read as milliseconds, not seconds', tests: [T('units')] },
  { file: 'lib/cli/units.ts', find: "  if (value > MAX_AMOUNT) throw new UsageError", replace: "  if (value > Infinity) throw new UsageError", why: 'durations past 2^53 - 1 ms taken', tests: [T('units')] },
  { file: 'lib/cli/timer.ts', find: '    handle = left <= maxStepMs ?', replace: '    handle = true ?', why: 'one plain setTimeout whatever the delay: past 24.8 days it fires after 1 ms', tests: [T('long-timer')] },
  { file: 'lib/cli/timer.ts', find: 'setTimeout(() => arm(deadline - performance.now()), maxStepMs)', replace: 'setTimeout(callback, maxStepMs)', why: 'a long timer fires after its first step', tests: [T('long-timer')] },
  { file: 'lib/cli/timer.ts', find: '    if (!referenced) handle.unref()\n', replace: '', why: 'unref() lost at the first re-arm', tests: [T('long-timer')] },
  { file: 'lib/cli/time.ts', find: '    }, options.timeoutMs)', replace: '    }, options.timeoutMs > 2 ** 31 - 1 ? 1 : options.timeoutMs)', why: '--timeout past 24.8 days fires after 1 ms, as a plain setTimeout', tests: [T('cli')] },
  { file: 'lib/cli/time.ts', find: "signalTree('SIGKILL'), options.killAfterMs)", replace: "signalTree('SIGKILL'), options.killAfterMs > 2 ** 31 - 1 ? 1 : options.killAfterMs)", why: '--kill-after past 24.8 days: SIGKILL 1 ms after the SIGTERM, as a plain setTimeout', tests: [T('cli')] },
  { file: 'lib/cli/inspect.ts', find: '  const signal = controller?.signal', replace: '  const signal = timeout === undefined ? undefined : AbortSignal.timeout(timeout)', why: 'pidfd wait --timeout back on AbortSignal.timeout (1 ms past 24.8 days; fractions refused)', tests: [T('cli')] },

  // src/sync.rs, lib/sync.ts, lib/normalize.ts: spawnSync, execSync, execFileSync
  { file: "src/sync.rs", find: "        self.stdin_done = Some(fd);\n", replace: "        std::mem::forget(fd);\n", why: "the stdin pipe of a call with input is never closed", tests: ["*no descriptor leaks*"] },
  { file: "src/sync.rs", find: "self.max_buffer.is_some_and(|max| self.total > max)", replace: "self.max_buffer.is_some_and(|max| self.total >= max)", why: "maxBuffer reached (not exceeded) is ENOBUFS", tests: ["*default is 1 MiB*"] },
  { file: "src/sync.rs", find: "        for output in self.outputs.iter_mut().flatten() {\n            output.fd = None;\n        }\n", replace: "", why: "the kill leaves the pipes open (a child ignoring killSignal is never ended by SIGPIPE)", tests: ["*SIGPIPE*"] },
  { file: "src/sync.rs", find: "if let Some(exit) = self.process.wait(self.deadline)? {", replace: "if let Some(exit) = self.process.wait(None)? {", why: "the wait after the pipes ignores the timeout", tests: ["*pipes closed: the blocking wait*"] },
  { file: "src/sync.rs", find: "        match sys::shutdown_write(fd.as_fd()) {", replace: "        match Ok::<(), std::io::Error>(()) {", why: "stdin never reaches EOF after the input", tests: ["*reaches stdin, then EOF*"] },
  { file: "src/sync.rs", find: "errno: drain.error.or(drain.pipe_error),", replace: "errno: drain.error,", why: "a pipe's error (EPIPE) is never reported", tests: ["*nobody reads: EPIPE*"] },
  { file: "lib/sync.ts", find: "{ value: usage, enumerable: false,", replace: "{ value: usage, enumerable: true,", why: "resourceUsage shows in the keys of the result", tests: ["*non-enumerable*"] },
  { file: "lib/sync.ts", find: "const MAX_BUFFER = 1024 * 1024", replace: "const MAX_BUFFER = 2 * 1024 * 1024", why: "another default maxBuffer", tests: ["*default is 1 MiB*"] },
  { file: "lib/sync.ts", find: "  if (inheritStderr && ret.stderr) process.stderr.write(ret.stderr as Buffer | string)\n  const err = checkExecSyncError(ret, undefined, command as string)", replace: "  const err = checkExecSyncError(ret, undefined, command as string)", why: "execSync keeps the child's stderr to itself", tests: ["*pass stderr on*"] },
  { file: "lib/sync.ts", find: "result.stdout = NODE_MAJOR >= 22 ? output?.[1] : output && output[1]", replace: "result.stdout = output?.[1]", why: "Node 20's null stdout of a failed spawn", tests: ["*does not exist: the ENOENT*"] },
  // lib/ipc.ts, lib/fork.ts: the IPC channel and fork
  { file: 'lib/ipc.ts', find: "    encode: (message) => `${JSON.stringify(message)}\\n`,", replace: '    encode: (message) => JSON.stringify(message),', why: 'json frames without their newline', tests: [T('fork'), '*round-trip in json*'] },
  { file: 'lib/ipc.ts', find: '      this.writeUint32(VIEW)', replace: '      this.writeUint32(OTHER)', why: "advanced mode tags a Buffer as a plain object (child_process's host-object rule)", tests: [T('fork'), '*round-trip in advanced*'] },
  { file: 'lib/ipc.ts', find: '        if (pieces.length === 0) text = chunk.toString', replace: '        if (true) text = chunk.toString', why: 'json: the start of a message held from earlier reads is dropped at its newline', tests: [T('ipc')] },
  { file: 'lib/ipc.ts', find: 'let end = chunk.indexOf(0x0a);', replace: 'let end = chunk.indexOf(0x0a, 1);', why: "json: a newline first in a read is missed", tests: [T('ipc'), '*json: messages cut*'] },
  { file: 'lib/ipc.ts', find: 'pieces.map((piece) => decoder.write(piece))', replace: "pieces.map((piece) => piece.toString('utf8'))", why: 'json: the pieces of a message decoded one by one (a character split across reads is mangled)', tests: [T('ipc'), '*json: messages cut*'] },
  { file: 'lib/ipc.ts', find: '      if (start < chunk.length) pieces.push(start === 0 ? chunk : chunk.subarray(start))', replace: '      if (start < chunk.length) pieces = [start === 0 ? chunk : chunk.subarray(start)]', why: 'json: a message over three reads or more loses its middle', tests: [T('ipc'), '*json: messages cut*'] },
  { file: 'lib/ipc.ts', find: '        if (chunks[0]!.length < 4) chunks = [Buffer.concat(chunks, held)]', replace: '        if (chunks[0]!.length < 4) chunks = [Buffer.concat(chunks.slice(0, 2))]', why: 'advanced: a length split over three reads is joined from two', tests: [T('ipc'), '*advanced: frames whose*'] },
  { file: 'lib/ipc.ts', find: '        chunks = held > 0 ? [whole.subarray(end)] : []', replace: '        chunks = held > 0 && chunks.length === 1 ? [whole.subarray(end)] : []', why: 'advanced: what follows a frame read in pieces is dropped', tests: [T('ipc')] },
  { file: 'lib/ipc.ts', find: '      frame.writeUInt32BE(frame.length - 4, 0)', replace: '      frame.writeUInt32BE(frame.length - 4, 0)\n      if (frame.length > 1 << 20) frame.writeUInt32BE(frame.length, 0)', why: 'advanced: the length of a big frame written counting itself', tests: [T('ipc'), '*advanced: messages of megabytes*'] },
  { file: 'lib/ipc.ts', find: "cmd.length > 5 && cmd.startsWith('NODE_')", replace: "cmd.startsWith('NODE_')", why: "a bare cmd 'NODE_' taken for an internal message", tests: [T('fork'), '*internal messages*'] },
  { file: 'lib/ipc.ts', find: 'const HIGH_WATER = 65536 * 2', replace: 'const HIGH_WATER = 65536 * 2 * 1024', why: "send() never says false", tests: [T('fork'), "*send's boolean*"] },
  { file: 'src/sys.rs', find: '    send_once(sock, bytes, &[fd])', replace: '    let _ = fd;\n    send_once(sock, bytes, &[])', why: 'a handle message goes without its descriptor', tests: [T('fork'), '*handles sent*'] },
  { file: 'lib/ipc.ts', find: '      if (err && refused) failed(err)', replace: '      if (err) failed(err)', why: "a queued write cut off by the child's death becomes an 'error' (child_process reports only a refused write)", tests: [T('fork'), "*send's boolean*"] },
  { file: 'lib/ipc.ts', find: '    this.#explicit = true\n    this.#socket?.unref()', replace: '    this.#explicit = true', why: 'channel.unref() keeps the parent alive', tests: [T('fork'), '*channel.unref()*'] },
  { file: 'lib/ipc.ts', find: '    if (--this.#holds === 0 && !this.#explicit) {', replace: '    if (--this.#holds === 0) {', why: "the channel's counted unref overrides the user's own ref() (Node's channel leaves it be)", tests: [T('fork'), "*channel object is Node's*"] },
  { file: 'lib/ipc.ts', find: '    if (!target.connected) {\n      const ex = ipcChannelClosed()', replace: '    if (false) {\n      const ex = ipcChannelClosed()', why: 'send after disconnect writes on', tests: [T('fork'), '*send after disconnect*'] },
  { file: 'lib/ipc.ts', find: '    if (target.connected || target.channel === control) {', replace: '    if (false) {', why: "the child's own disconnect is not told ('disconnect')", tests: [T('fork'), "*the child's own disconnect*"] },
  { file: 'lib/ipc.ts', find: '      if (wasOpen && atEnd) closed()', replace: '      if (wasOpen) closed()', why: "'close' after the parent's own disconnect(), where child_process never emits it", tests: [T('fork'), "*no 'close' ever*"] },
  { file: 'lib/ipc.ts', find: "      else if (typeof callback === 'function' && err && open) cutOff.push(callback)", replace: "      else if (typeof callback === 'function' && err && !open) cutOff.push(callback)", why: "the callback of a send cut off by the child's death comes before 'disconnect'", tests: [T('fork'), '*SIGKILLed while a send*'] },
  { file: 'lib/ipc.ts', find: '    else unheard.push([event, message, handle])', replace: '', why: 'messages before the first listener are lost', tests: [T('fork'), '*before anyone listens*'] },
  { file: 'lib/ipc.ts', find: '      const handle = this.pendingHandle\n', replace: '      const handle = null as PipeHandle[\'pendingHandle\']\n', why: 'a descriptor the child sends is never taken (every handle NACKed)', tests: ['*handles the child sends*'] },
  { file: 'lib/ipc.ts', find: '  const pipe = new Pipe(PIPE_IPC)', replace: '  const pipe = new Pipe(0)', why: 'our end a plain pipe: the descriptors the child sends are dropped', tests: ['*handles the child sends*'] },
  { file: 'lib/ipc.ts', find: '          server._setupWorker?.(list)', replace: '', why: "a server no longer asks the child about the sockets it sent", tests: ["*a server's sockets sent to the child*"] },
  { file: 'lib/ipc.ts', find: '          list.add(socket)', replace: '', why: "sockets received from a child's server are not counted for it", tests: ["*child's server sends here*"] },
  { file: 'lib/ipc.ts', find: '  common.freeParser(s.parser, null, socket)', replace: '', why: "an HTTP socket sent away keeps its parser here", tests: ["*HTTP server's socket*"] },
  // lib/ipc.ts, lib/socket-list.ts: a server's sockets sent over the channel (__test__/socket-list.test.ts)
  { file: 'lib/ipc.ts', find: '        sent.detached?.close?.()', replace: '', why: "a socket sent without keepOpen: our descriptor never closed after the child's ACK (a leak)", tests: [T('socket-list'), '*sent without keepOpen*'] },
  { file: 'lib/ipc.ts', find: '      if (handle instanceof net.Socket && !options.keepOpen) {', replace: '      if (handle instanceof net.Socket) {', why: 'a socket sent with keepOpen is taken off its object and closed all the same', tests: [T('socket-list'), '*sent with keepOpen*'] },
  { file: 'lib/ipc.ts', find: '        if (!options.keepOpen) server._connections--', replace: '        server._connections--', why: "server._connections drops for a socket sent with keepOpen (still ours)", tests: [T('socket-list'), '*server._connections*'] },
  { file: 'lib/socket-list.ts', find: "      target.removeListener('disconnect', onClose)\n", replace: '', why: "getConnections()'s callback runs again when the child's disconnect follows its reply", tests: [T('socket-list'), '*runs once*'] },
  { file: 'lib/socket-list.ts', find: '    if (!target.connected) {\n      onClose()', replace: '    if (false) {\n      onClose()', why: 'getConnections() after the child disconnected asks it all the same (no ERR_CHILD_CLOSED_BEFORE_REPLY)', tests: [T('socket-list'), '*runs once*'] },
  { file: 'lib/socket-list.ts', find: "    this.#post = post\n    target.once('exit', () => this.emit('exit', this))", replace: '    this.#post = post', why: "a child that exited stays one of the server's workers", tests: [T('socket-list'), '*runs once*'] },
  { file: 'lib/socket-list.ts', find: "        if (this.connections === 0) allClosed()\n        else this.once('empty', allClosed)", replace: "        this.once('empty', allClosed)", why: "NODE_SOCKET_NOTIFY_CLOSE with every received socket already closed is never answered (the sender's server.close() hangs)", tests: [T('socket-list'), '*closed before the child*'] },
  { file: 'lib/socket-list.ts', find: '      if (--this.connections === 0)', replace: '      if (this.connections-- === 0)', why: "the receiver's last socket closed does not answer a NODE_SOCKET_NOTIFY_CLOSE that waited", tests: [T('socket-list'), '*closed after the child*'] },
  { file: 'lib/ipc.ts', find: "      if (typeof fd !== 'number' || fd < 0) return write(message, options, callback)", replace: "      if (typeof fd !== 'number' || fd < 0) return false", why: 'a closed socket sent: its message is dropped (child_process sends it without the handle)', tests: [T('socket-list'), '*already closed*'] },
  { file: 'lib/ipc.ts', find: '        handle.setTimeout(0)\n', replace: '', why: "a socket sent without keepOpen keeps its timeout here ('timeout' on a socket that is the child's)", tests: [T('socket-list'), '*with a timeout*'] },
  { file: 'lib/subprocess.ts', find: '.concat(`NODE_CHANNEL_FD=${ipc}`,', replace: '.concat(`NODE_CHANNEL_FD=3`,', why: "the channel announced as descriptor 3 wherever 'ipc' is", tests: [T('fork'), "*'ipc' anywhere*"] },
  { file: 'lib/fork.ts', find: 'const path = value instanceof URL ? fileURLToPath(value) : value', replace: 'const path = value instanceof URL ? value.pathname : value', why: "fork(URL) runs the URL's encoded pathname (a space left as %20): not the file named", tests: [T('fork'), '*file: URL is decoded*'] },
  { file: 'lib/fork.ts', find: 'const path = value instanceof URL ? fileURLToPath(value) : value', replace: 'const path = value instanceof URL ? decodeURIComponent(value.pathname) : value', why: 'fork(URL) takes any scheme, a host and an encoded slash (fileURLToPath refuses them)', tests: [T('fork'), '*bad arguments throw*'] },
  { file: 'lib/fork.ts', find: '...(options as object | null | undefined), shell: false }', replace: '...(options as object | null | undefined) }', why: 'fork honours shell: true (child_process forces it off): a module path with a space or a # breaks', tests: ['*file: URL is decoded*'] },
  { file: 'lib/fork.ts', find: 'if (execArgv === process.execArgv && evaluated != null) {', replace: 'if (false && execArgv === process.execArgv && evaluated != null) {', why: "a parent run with -e passes its script to the child, which runs it instead of the module", tests: ['*run with -e*'] },
  { file: 'lib/fork.ts', find: "  else if (!opts.stdio.includes('ipc')) throw ipcRequired('options.stdio')", replace: '', why: "fork's stdio without 'ipc' accepted", tests: [T('fork'), '*bad arguments throw as child_process*'] },
  { file: 'lib/fork.ts', find: "withIpc(opts.silent ? 'pipe' : 'inherit')", replace: "withIpc('inherit')", why: 'silent ignored', tests: [T('fork'), '*silent pipes*'] },
  { file: 'lib/fork.ts', find: '  let execArgv = (opts.execArgv || process.execArgv) as unknown[]', replace: '  let execArgv = (opts.execArgv || []) as unknown[]', why: "the child does not get this process's execArgv", tests: [T('fork'), '*execArgv*'] },
]
