// The labs' pages for students, one per lab in the order of the list (./index.ts): what each shows (summary,
// claim) and its guide (what to look for, the strace lines, the questions). `multiproc demo <lab> --help` prints
// a page; docs/labs.md is made from all of them (./guide.ts). The programs are the labs' own files.
import type { LabGuide } from './common.js';

/** A lab's page: a line for the list, the claim it checks, its guide. */
export interface LabPage {
  summary: string;
  claim: string;
  guide: LabGuide;
}

/** Every lab's page, by the lab's name. */
export const pages = {
  basic_process: {
    summary: 'start a Process, join it, read its exit code; terminate a long task (exit code -15)',
    claim: "a child has its own pid and the parent's pid as ppid; join() collects exit code 0; terminate() gives -15",
    guide: {
      lookFor: [
        'The child\'s pid differs from the lab\'s, and its ppid is the lab\'s pid: fork made a new process whose parent is the caller.',
        'join() returns when the child has exited; exitCode is 0 for a normal return.',
        'terminate() sends SIGTERM: exitCode -15 (negative: killed by signal 15), as in Python.',
        'The picture: fork arrows, the child\'s short run, and the SIGTERM arrow into the long task.',
      ],
      hold: 'Pauses while the long task runs: ps shows it sleeping (S) with the lab as its parent, before terminate() ends it.',
      strace: {
        command: 'strace -f -e trace=clone,exit_group,kill,pidfd_open,waitid multiproc demo basic_process',
        lines: [
          '<lab> clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, …) = <child>   ← fork()',
          '<child> exit_group(0) = ?   then in the lab: waitid(P_PIDFD, <fd>, {si_code=CLD_EXITED, si_status=0, …}, WEXITED|WNOHANG, NULL)',
          '<lab> kill(<long task>, SIGTERM) = 0   … waitid(…, {si_code=CLD_KILLED, si_status=SIGTERM, …})',
        ],
      },
      questions: [
        'fork() returns twice. What does each process get back, and how does the child learn its parent\'s pid?',
        'Why is the exit code of the terminated task -15 and not 143, as a shell would print?',
        'What would the child be between its exit and the lab\'s join()? Which lab shows that state?',
      ],
    },
  },
  multiple_processes: {
    summary: 'a task split over 4 processes: pids, ppids, partial results, exit statuses, combined',
    claim: 'four children each compute a part of one sum; the parent combines their parts into the exact total',
    guide: {
      lookFor: [
        'Four children, each with its own pid and the lab as ppid, each computing one range of the sum.',
        'The partial results arrive through a pipe in the order the children finish, not the order they were started.',
        'The combined total equals the closed form N(N+1)(2N+1)/6: splitting the work lost nothing.',
      ],
      strace: {
        command: 'strace -f -e trace=clone,socketpair,pipe2,write,exit_group multiproc demo multiple_processes',
        lines: [
          '<lab> pipe2([<r>, <w>], O_CLOEXEC) = 0   ← Pipe(false): one-way, children write, the lab reads',
          '<lab> clone(…SIGCHLD…) = <child>, four times',
          '<child> write(<w>, …) = <n>   ← the child\'s partial sum, one message',
        ],
      },
      questions: [
        'Each child gets a copy of the lab\'s memory at fork. Why must the partial sums still be sent back through a pipe?',
        'The children finish in a different order from run to run. Why, and why does the total not depend on it?',
        'How would you split the range if the cost of each i grew with i?',
      ],
    },
  },
  deadlock: {
    summary: 'two processes take two locks in opposite order: the wait-for cycle, found, broken, and fixed',
    claim: 'opposite lock order deadlocks (a real cycle in the wait-for graph); a global lock order does not',
    guide: {
      lookFor: [
        'The wait-for graph built from what each process records (holds R1, wants R2): a cycle A → B → A.',
        'Both processes asleep in the kernel on the lock (WAITING IN futex…), and no progress for 300 ms.',
        'Killing B breaks the cycle: its robust mutex passes to A (owner died), and A finishes.',
        'The fix, one global lock order (R1 before R2): 2000 rounds each, no deadlock.',
      ],
      hold: 'Pauses while the two processes are deadlocked: ps shows both sleeping (S), WCHAN a futex wait, forever.',
      strace: {
        command: 'strace -f -e trace=futex,kill,exit_group multiproc demo deadlock',
        lines: [
          '<A> futex(<R2>, FUTEX_WAIT, 0x80000000|<B>, NULL <unfinished …>  and  <B> futex(<R1>, FUTEX_WAIT, 0x80000000|<A>, NULL <unfinished …>: each sleeps on a lock word that holds the other\'s thread id (the top bit: someone waits)',
          '<lab> kill(<B>, SIGKILL) = 0;  <B> +++ killed by SIGKILL +++: the kernel walks B\'s robust-futex list, marks R2 owner-died and wakes A: <A> <… futex resumed> = 0',
        ],
      },
      questions: [
        'Name the four conditions for a deadlock and where each holds in this lab.',
        'Why does one global lock order make a cycle impossible?',
        'What would happen to A if the mutexes were not robust, when B is killed while holding R2?',
      ],
    },
  },
  process_pool: {
    summary: 'Pool.map over worker processes: which worker computed which item, and the speed-up',
    claim: 'Pool.map spreads the items over the worker processes and returns every result in order',
    guide: {
      lookFor: [
        'Each result names the worker pid that computed it: the items are spread over the pool\'s processes.',
        'The results come back in the input\'s order, whichever worker finished first.',
        'The same map timed with one worker and with one per CPU: the speed-up, at most the number of free CPUs.',
      ],
      hold: 'Pauses with the pool\'s workers idle: ps shows them sleeping, children of the lab.',
      strace: {
        command: 'strace -f -e trace=clone,socketpair,write,read,exit_group multiproc demo process_pool',
        lines: [
          '<lab> socketpair(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0, [<a>, <b>]) = 0, one per worker',
          '<lab> write(<a>, …) = <n>   ← a batch of tasks;   <worker> write(<b>, …)   ← its results',
        ],
      },
      questions: [
        'Why are the workers started before the timing? What does starting a process cost compared with one task here?',
        'What limits the speed-up on this machine (see the load average printed)?',
        'When is a larger chunkSize better, and when is it worse?',
      ],
    },
  },
  queue_communication: {
    summary: 'a producer puts messages into a Queue, a consumer gets them: FIFO, nothing lost',
    claim: 'what the producer puts into the queue is what the consumer gets, in order',
    guide: {
      lookFor: [
        'The producer and the consumer never talk to each other directly: both use the Queue.',
        'Every message put is got, in the same order (FIFO), nothing lost, nothing doubled.',
        'The picture: each put (by the producer) joined to its get (by the consumer) by a message arrow.',
      ],
      strace: {
        command: 'strace -f -e trace=memfd_create,mmap,futex,clone multiproc demo queue_communication',
        lines: [
          '<lab> memfd_create("multiproc-queue", MFD_CLOEXEC) = <fd>; mmap(NULL, …, PROT_READ|PROT_WRITE, MAP_SHARED, <fd>, 0)   ← the ring',
          '<consumer> futex(…, FUTEX_WAIT…) while the queue is empty;  <producer> futex(…, FUTEX_WAKE…) after a put',
        ],
      },
      questions: [
        'Where do the messages live while they are in the queue, and why can a forked child use it without being sent anything?',
        'What does the consumer do while the queue is empty: spin, or sleep? How could you tell from ps?',
        'What changes if there are two consumers?',
      ],
    },
  },
  pipe_communication: {
    summary: 'a pipe between parent and child: raw bytes with pipe()/read()/write(), then messages with Pipe()',
    claim: 'what the child writes into a pipe is exactly what the parent reads, in order',
    guide: {
      lookFor: [
        'The course text\'s C program, step by step: pipe(), fork(), each side closes the end it does not use, write(), read().',
        'The parent reads exactly the bytes the child wrote; read() returns 0 (end of file) once every write end is closed.',
        'Messages over a Pipe(): the parent receives 1, 2, 3, …, done, in order.',
      ],
      strace: {
        command: 'strace -f -e trace=pipe2,clone,close,write,read multiproc demo pipe_communication',
        lines: [
          '<lab> pipe2([3, 4], O_CLOEXEC) = 0',
          '<child> close(3); write(4, "Hello from the child…", …) = <n>;   <lab> close(4); read(3, …) = <n>, then read(3, …) = 0',
        ],
      },
      questions: [
        'Why must the parent close its write end before it can ever see end of file?',
        'What happens to a writer when the pipe is full (see /proc/sys/fs/pipe-max-size), and to a reader when it is empty?',
        'A pipe is one-way. How would you build two-way communication from pipes?',
      ],
    },
  },
  shared_value: {
    summary: 'a counter in shared memory: exact with a lock, lost updates without one (counted and shown)',
    claim: 'with the lock 5 → 5 and N×M increments are exact; without it increments are lost (the count is shown)',
    guide: {
      lookFor: [
        'Five processes under the lock: exactly 5. In the picture they take the lock one after another (purple), the others wait (amber).',
        'The race slowed down: two processes read the same value, both write value + 1, and the picture marks the write that lost an update.',
        'Without the lock, millions of updates lost: the count, and one pair of processes caught reading the same value.',
        'With the lock, N × M increments are exact, and slower.',
      ],
      strace: {
        command: 'strace -f -c -e trace=futex multiproc demo shared_value',
        lines: [
          '-c counts the futex calls: the locked runs make many (a waiter sleeps in FUTEX_WAIT, a release wakes it), the unlocked runs none at all',
        ],
      },
      questions: [
        '`value += 1` is one line of code. Which separate steps does it consist of, and where can another process cut in?',
        'Why is the locked run slower? What does a process do when the lock is taken?',
        'Would an atomic add (Atomics.add) need a lock? What would it not help with?',
      ],
    },
  },
  shared_array: {
    summary: 'an array in shared memory: what the child writes, the parent reads (a plain array stays private)',
    claim: "a child's writes into a shared array are what the parent reads; an ordinary array is copied, not shared",
    guide: {
      lookFor: [
        'The child writes into the SharedArray and the parent reads exactly those values: the same physical pages, no copy, no message.',
        'An ordinary array changed by the child is unchanged in the parent: fork copies everything else (copy-on-write).',
      ],
      strace: {
        command: 'strace -f -e trace=mmap,memfd_create,clone multiproc demo shared_array',
        lines: [
          '<lab> mmap(NULL, <n>, PROT_READ|PROT_WRITE, MAP_SHARED…) = 0x…   ← shared: both processes map the same pages after fork',
        ],
      },
      questions: [
        'What is the difference between MAP_SHARED and the private copy-on-write mapping of the rest of the heap?',
        'If two children wrote the same element at once, what would you need?',
      ],
    },
  },
  manager: {
    summary: 'a Manager server process owns a dict and a list; workers write through proxies, the parent reads',
    claim: 'what the worker processes write into the manager\u2019s dict and list is what the parent reads back',
    guide: {
      lookFor: [
        'A separate server process owns the dict and the list; the workers and the parent only hold proxies.',
        'Each proxy call is a request and a reply over a Unix socket: the picture\'s message arrows into the server.',
        'The parent reads back exactly what the three workers wrote.',
      ],
      hold: 'Pauses with the manager\'s server running: ps shows it, a child of the lab, listening on its socket (ss -xlp shows the socket).',
      strace: {
        command: 'strace -f -e trace=socket,bind,listen,connect,accept4,sendmsg,recvmsg,write,read multiproc demo manager',
        lines: [
          '<server> socket(AF_UNIX, SOCK_STREAM…); bind(…, {sun_path="…"}); listen(…)',
          '<worker> connect(…) = 0, then write/read pairs: one request and one reply per proxy call',
        ],
      },
      questions: [
        'Why is a Manager slower than a Value in shared memory? What does it allow that shared memory does not?',
        'How does the server keep two workers\' updates of the dict from interfering?',
        'What happens to the proxies when the server process dies?',
      ],
    },
  },
  process_lock: {
    summary: 'several processes print through one pipe: lines interleave without a lock, never with one',
    claim: 'with a lock around each line, lines from several processes never interleave inside a line',
    guide: {
      lookFor: [
        'Without the lock, lines whose pieces come from different processes (interleaved inside a line).',
        'With the lock around the whole line, every line arrives whole.',
      ],
      strace: {
        command: 'strace -f -e trace=write,futex multiproc demo process_lock',
        lines: [
          '<child> write(<pipe>, …) three times per line: without the lock, other children\'s writes fall in between',
          '<child> futex(…, FUTEX_WAIT…) while another child holds the lock',
        ],
      },
      questions: [
        'Each piece is one write(). Why can writes of different processes interleave, and why is each single write() never cut in a pipe (up to PIPE_BUF bytes)?',
        'What is the critical section here, and what happens if it is made too large?',
      ],
    },
  },
  process_semaphore: {
    summary: 'a semaphore of 2: five processes, never more than two inside at once (timeline)',
    claim: 'with a semaphore of value N, at most N processes are inside at any time',
    guide: {
      lookFor: [
        'Never more than two processes inside at once, and two is reached: the timeline and the count at every instant.',
        'The others sleep in sem_wait (amber in the picture) until one leaves.',
      ],
      strace: {
        command: 'strace -f -e trace=futex multiproc demo process_semaphore',
        lines: [
          '<child> futex(…, FUTEX_WAIT…) when the value is 0;  <leaving child> futex(…, FUTEX_WAKE, 1) when it posts',
        ],
      },
      questions: [
        'A lock is a semaphore of value 1. What can a semaphore of value 2 protect that a lock cannot?',
        'What does the order in which waiting processes get in depend on?',
      ],
    },
  },
  process_barrier: {
    summary: 'a barrier: 4 processes, 3 phases; nobody starts phase k+1 before all finished phase k',
    claim: 'every process reaches the barrier after phase k before any process starts phase k+1',
    guide: {
      lookFor: [
        'Nobody starts phase k+1 before everyone has finished phase k: the table\'s LAST ARRIVAL ≤ BARRIER OPENS ≤ FIRST START OF NEXT PHASE.',
        'The opening is timed by the barrier\'s action, which runs in the last process to arrive before anyone is released; the picture draws it there.',
        'The fast processes wait (amber) at each barrier for the slowest.',
      ],
      strace: {
        command: 'strace -f -e trace=futex multiproc demo process_barrier',
        lines: [
          '<early arrivals> futex(<generation>, FUTEX_WAIT…) = 0 when woken;  <last arrival> futex(<generation>, FUTEX_WAKE, INT_MAX) = 3',
        ],
      },
      questions: [
        'How long does each phase take in total, and what does it depend on?',
        'Why does a process that arrives early have to sleep rather than start the next phase?',
        'What should happen to the others if one process dies before reaching the barrier?',
      ],
    },
  },
  orphan: {
    summary: 'the parent exits first: the child is re-parented (here to the lab, a subreaper) and reaped',
    claim: "when a parent exits first its child is adopted (getppid() changes to the subreaper) and the adopter reaps it",
    guide: {
      lookFor: [
        'The child\'s getppid() changes from its parent\'s pid to the lab\'s when the parent exits: it was adopted.',
        'The lab is a child subreaper (prctl PR_SET_CHILD_SUBREAPER), so the orphan comes to it rather than to PID 1.',
        'Only the new parent can wait for the orphan: the lab reaps it.',
      ],
      hold: 'Pauses after the adoption: ps shows the orphan with the lab as its PPID; its old parent is gone.',
      strace: {
        command: 'strace -f -e trace=prctl,clone,exit_group,getppid,waitid multiproc demo orphan',
        lines: [
          '<lab> prctl(PR_SET_CHILD_SUBREAPER, 1) = 0',
          '<parent> exit_group(0);  <orphan> getppid() = <parent>, …, getppid() = <lab>   ← adopted',
        ],
      },
      questions: [
        'Without a subreaper, who adopts an orphan? What does that process have to do with it?',
        'Why do container runtimes and service managers make themselves subreapers?',
        'Can an orphan become a zombie? Who would reap it?',
      ],
    },
  },
  zombie: {
    summary: 'a child exits, the parent does not wait: a zombie (Z) until waitpid() reaps it',
    claim: 'an exited, unwaited child is a zombie (Z in /proc and in ps -o stat); after waitpid it is gone',
    guide: {
      lookFor: [
        'Both children exited, the lab did not wait: STAT Z in /proc and in ps, parent still the lab.',
        'waitpid() returns each exit status (0 and 3) and the entries disappear from the process table.',
        'The picture: the red zombie stretch from each child\'s exit to the lab\'s wait.',
      ],
      hold: 'Pauses with the zombies present, long enough to see them from another shell: ps shows Z and <defunct>.',
      strace: {
        command: 'strace -f -e trace=clone,exit_group,waitid,wait4 multiproc demo zombie',
        lines: [
          '<child> exit_group(3) = ?   and the lab receives --- SIGCHLD {si_code=CLD_EXITED, si_pid=<child>, si_status=3, …} ---',
          '… nothing for a while (the zombie) …, then <lab> waitid(P_PIDFD, <fd>, {si_code=CLD_EXITED, si_pid=<child>, si_status=3, …}, WEXITED|WNOHANG, NULL) = 0',
        ],
      },
      questions: [
        'What does a zombie still occupy, and what does it no longer have?',
        'How can you get rid of a zombie whose parent never waits? (Killing the zombie does not work: why?)',
        'What does SA_NOCLDWAIT (or SIGCHLD set to SIG_IGN) change? The signals lab shows SIGCHLD-driven reaping.',
      ],
    },
  },
  signals: {
    summary: 'handlers (sigaction), stop/continue (T), a blocked signal delivered on unblock, SIGCHLD reaping',
    claim:
      'a caught signal runs its handler, an ignored one does nothing, SA_RESETHAND catches once; SIGSTOP shows T until SIGCONT; ' +
      'a blocked signal stays pending until unblocked (standard ones once, real-time ones each time); SIGCHLD says when to reap',
    guide: {
      lookFor: [
        'Part 1: the SigCgt/SigIgn lines of /proc/<pid>/status decoded: SIGUSR1 and SIGUSR2 caught, SIGTERM ignored; each handler run names its sender (the lab\'s pid) and si_code (user for kill, queue for sigqueue).',
        'After SIGUSR2 ran its one-shot handler, SIGUSR2 is no longer in SigCgt: the second SIGUSR2 kills the child ("killed by SIGUSR2").',
        'Part 2: STAT T in ps while stopped, and the work counter does not move; waitpid reports stopped, then continued.',
        'Part 3: sigpending and ShdPnd list SIGUSR1 and SIGRTMIN while they are blocked; on unblock SIGUSR1 runs once (3 sent), SIGRTMIN three times with values 1, 2, 3, all inside the sigprocmask call.',
        'Part 4: fewer SIGCHLD handler runs than children when several exit together, and still every child reaped, each right after a SIGCHLD.',
        'The picture: red signal arrows, the stopped (yellow) stretch, SIGCHLD arrows from each child to its parent.',
      ],
      hold: 'Pauses while the busy child is stopped: ps shows STAT T, /proc/<pid>/status "State: T (stopped)". Try `kill -CONT <pid>` yourself, then see the lab notice.',
      strace: {
        command: 'strace -f -e trace=kill,rt_sigqueueinfo,rt_sigaction,rt_sigprocmask,ppoll,wait4 multiproc demo signals',
        lines: [
          '<child> rt_sigaction(SIGUSR2, {sa_handler=0x…, sa_mask=[], sa_flags=SA_RESTORER|SA_RESETHAND|SA_SIGINFO…}, NULL, 8) = 0',
          '<lab> kill(<child>, SIGUSR1) = 0;  rt_sigqueueinfo(<child>, SIGUSR1, {si_code=SI_QUEUE, si_pid=<lab>, si_int=42, …}) = 0   ← sigqueue',
          '<busy> --- stopped by SIGSTOP ---  …  --- SIGCONT {si_code=SI_USER, si_pid=<lab>, …} ---',
          '<child> rt_sigprocmask(SIG_UNBLOCK, [USR1 RTMIN], NULL, 8) = 0: the pending SIGUSR1 and the three SIGRTMIN are delivered right there',
          '<parent> ppoll(NULL, 0, {tv_sec=1, tv_nsec=0}, [], 8) = ? ERESTARTNOHAND   ← sigsuspend, woken by the SIGCHLD handler; then wait4(<kid>, …, WNOHANG, NULL) for each child',
        ],
      },
      questions: [
        'Why can the lab not show SIGKILL or SIGSTOP being caught or ignored?',
        'Three SIGUSR1 were sent while blocked but the handler ran once. What does the kernel keep for a pending standard signal, and what for a real-time one?',
        'A parent got fewer SIGCHLD than it had children. Why must a SIGCHLD handler (or the loop after sigsuspend) call waitpid until it returns 0?',
        'Why does the SIGCHLD parent block SIGCHLD before forking and unblock it only inside sigsuspend? What could go wrong with pause() instead?',
        'What state does ps show for a stopped process, and what does waitpid need (which flag) to report it?',
      ],
    },
  },
  namespaces: {
    summary: 'a container from syscalls: PID 1 in new PID, UTS and mount namespaces, its own hostname and /proc',
    claim:
      'after unshare(PID, UTS, mount) a child is PID 1 inside (and an ordinary pid outside), has its own hostname and /proc, ' +
      'sees only its own processes and reaps its own orphans; the host is unchanged',
    guide: {
      lookFor: [
        'The same process with two pids: 1 inside (getpid) and its real pid on the host (NSpid in the host\'s /proc/<pid>/status shows both).',
        'The hostname inside is multiproc-box; the host\'s hostname is unchanged (a UTS namespace).',
        'ps inside the container lists only the container\'s processes, numbered from 1 (its own /proc, mounted in a private mount namespace); the host\'s /proc still shows everything.',
        'An orphan inside the container is adopted by PID 1 (getppid() becomes 1), which must reap it: PID 1 is the container\'s init.',
        'The namespace ids (/proc/<pid>/ns/uts, …/pid, …/mnt) differ between the lab and the container; the setns() child ("exec") shares the container\'s.',
        'On a machine that does not permit a namespace, the reason printed for each part that was skipped.',
      ],
      hold: 'Pauses while the container runs: look at it from the host with ps (real pids), then enter it like `docker exec`: nsenter -t <pid> -p -u -m ps -e (run as root).',
      strace: {
        command: 'strace -f -e trace=unshare,setns,sethostname,mount,umount2 multiproc demo namespaces',
        lines: [
          '<runtime> unshare(CLONE_NEWUTS) = 0;  unshare(CLONE_NEWNS) = 0;  unshare(CLONE_NEWPID) = 0   (one call per namespace, so that a refusal names it)',
          '<runtime> mount(NULL, "/", NULL, MS_REC|MS_PRIVATE, NULL) = 0',
          '<init> sethostname("multiproc-box", 13) = 0;  mount("proc", "/proc", "proc", MS_NOSUID|MS_NODEV|MS_NOEXEC, NULL) = 0',
          '<init> --- SIGCHLD {si_code=CLD_EXITED, si_pid=2, …} ---   ← its children\'s pids are the namespace\'s: 2, 3, 4',
          '<exec> setns(<fd>, CLONE_NEWUTS) = 0;  setns(<fd>, CLONE_NEWNS) = 0',
        ],
      },
      questions: [
        'Why is the first child forked after unshare(CLONE_NEWPID) PID 1, but the process that called unshare keeps its pid?',
        'What happens to the other processes of a PID namespace when its PID 1 exits? Why can the runtime fork no second process into it afterwards?',
        'Why must /proc be mounted again inside, and why only after mount(NULL, "/", NULL, MS_REC|MS_PRIVATE)? What would a shared mount tree do with the new mount?',
        'PID 1 in a namespace ignores signals it has no handler for, even SIGTERM from inside. Why is that a problem for containers whose init is an ordinary program?',
        'Which namespaces would a real container add (network, IPC, user, cgroup), and what would each hide?',
      ],
    },
  },
  scaling: {
    summary: 'one CPU-bound job on 1…N processes, N threads and one async loop; Amdahl; static vs dynamic balancing',
    claim:
      'the same job gives the same result on processes, threads and one event loop; processes and threads speed it up ' +
      'until the CPUs run out (Amdahl bounds it by the serial part), one async loop does not; dynamic chunks balance uneven tasks',
    guide: {
      lookFor: [
        'The table: T1, Tk, speed-up T1/Tk and efficiency for processes and threads. The speed-up grows up to the number of CPUs (the dashed purple line in the picture), then stops: k = cpus + 1 is no faster.',
        'The Amdahl curve for the measured serial part: the measurements stay under it (process start-up, communication and other programs on the machine cost extra).',
        'One async loop: about 1× — the tasks are interleaved on one thread, and the event loop only gets a turn between them.',
        'Static chunks: the worker holding the block of big tasks finishes long after the others (the Gantt chart); dynamic: the workers finish close together. Compare the makespans and the units per worker.',
        'The checksum is the same in every run: the tasks are independent, so the order and the placement do not matter.',
      ],
      hold: 'Pauses after the largest process run, with the pool\'s workers idle: ps shows them (S); `top -H -p <lab pid>` during a run shows the threads.',
      strace: {
        command: 'strace -f -c -e trace=clone,clone3,futex,write,read,epoll_wait multiproc demo scaling',
        lines: [
          '-c counts calls per system call instead of listing them: clone/clone3 for every worker process and thread,',
          'futex for the threads\' and the pool\'s waits, read/write for the tasks and results on the pool\'s sockets.',
          'Without -c: <lab> clone(child_stack=NULL, flags=…|SIGCHLD) = <worker> for each Pool worker, clone3({flags=CLONE_VM|CLONE_THREAD…}) for each worker thread.',
        ],
      },
      questions: [
        'With the measured serial fraction f, what is the largest speed-up any number of workers could give? How many workers would reach 90 % of it?',
        'Why does k = cpus + 1 not help, and what would it cost if the tasks did I/O instead of computing?',
        'The Karp–Flatt metric estimates the serial fraction from a measured speed-up. Why is it larger than the designed serial part?',
        'Static chunks gave one worker the block of the biggest tasks. Which chunk size would balance them, and what does a chunk size of 1 cost when tasks are tiny?',
        'Threads and processes give similar speed-ups here. Name one thing that would favour threads and one that would favour processes.',
      ],
    },
  },
} satisfies Record<string, LabPage>;
