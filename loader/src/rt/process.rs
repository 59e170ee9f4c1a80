//! The initial process stack: argc, argv, envp and the auxiliary vector, as
//! the kernel left them, and their rewriting for the program.

use core::ffi::CStr;

pub const AT_NULL: usize = 0;
pub const AT_PHDR: usize = 3;
pub const AT_PHENT: usize = 4;
pub const AT_PHNUM: usize = 5;
pub const AT_BASE: usize = 7;
pub const AT_ENTRY: usize = 9;
pub const AT_PLATFORM: usize = 15;
pub const AT_SECURE: usize = 23;
pub const AT_RANDOM: usize = 25;
pub const AT_EXECFN: usize = 31;
pub const AT_MINSIGSTKSZ: usize = 51;
pub const AT_SYSINFO_EHDR: usize = 33;

/// A view of the initial stack.
pub struct Stack {
    /// Points at argc.
    pub sp: *mut usize,
    pub argc: usize,
    pub argv: *mut *const u8,
    pub envp: *mut *const u8,
    pub envc: usize,
    pub auxv: *mut usize,
    /// Number of auxv pairs, AT_NULL included.
    pub auxc: usize,
}

/// The bytes of a C string pointer (empty for NULL).
///
/// # Safety
/// `p` must be NULL or point to a NUL-terminated string that lives for the
/// rest of the process (the strings of the initial stack do).
pub unsafe fn cstr(p: *const u8) -> &'static [u8] {
    if p.is_null() {
        return &[];
    }
    CStr::from_ptr(p.cast()).to_bytes()
}

impl Stack {
    /// # Safety
    /// `sp` must be the stack pointer the kernel gave the process entry.
    pub unsafe fn new(sp: *mut usize) -> Stack {
        let argc = *sp;
        let argv = sp.add(1) as *mut *const u8;
        let envp = argv.add(argc + 1);
        let mut envc = 0;
        while !(*envp.add(envc)).is_null() {
            envc += 1;
        }
        let auxv = envp.add(envc + 1) as *mut usize;
        let mut auxc = 0;
        while *auxv.add(2 * auxc) != AT_NULL {
            auxc += 1;
        }
        auxc += 1;
        Stack { sp, argc, argv, envp, envc, auxv, auxc }
    }

    pub fn arg(&self, i: usize) -> Option<&'static [u8]> {
        if i >= self.argc {
            return None;
        }
        // SAFETY: i < argc, and argv entries are strings of the initial stack.
        Some(unsafe { cstr(*self.argv.add(i)) })
    }

    pub fn env(&self, i: usize) -> &'static [u8] {
        // SAFETY: the caller keeps i < envc; envp entries are strings of the
        // initial stack.
        unsafe { cstr(*self.envp.add(i)) }
    }

    /// The value of environment variable `name`.
    ///
    /// Each entry is compared only as far as `name` goes: the length of
    /// every entry (LS_COLORS, PATH) is not measured on each call.
    pub fn getenv(&self, name: &[u8]) -> Option<&'static [u8]> {
        (0..self.envc).find_map(|i| {
            // SAFETY: i < envc; each entry is a NUL-terminated string of the
            // initial stack. The walk stops at the first byte that differs
            // from `name` (a NUL differs from every byte of a name that has
            // none), so it never reads past the entry's terminator.
            unsafe {
                let e = *self.envp.add(i);
                if e.is_null() || name.contains(&0) {
                    return None;
                }
                let same = name.iter().enumerate().all(|(k, &b)| *e.add(k) == b);
                (same && *e.add(name.len()) == b'=').then(|| cstr(e.add(name.len() + 1)))
            }
        })
    }

    pub fn aux(&self, key: usize) -> Option<usize> {
        // SAFETY: auxc pairs are in bounds.
        (0..self.auxc).find_map(|i| unsafe { (*self.auxv.add(2 * i) == key).then(|| *self.auxv.add(2 * i + 1)) })
    }

    /// Sets an existing auxv entry. Entries the kernel did not supply are
    /// not added (there is no room), matching what a native run would see.
    /// Describes the program to whoever starts it, as the kernel does: its
    /// program headers (at `phdr`, `phnum` of them) and its entry point.
    pub fn set_program(&mut self, phdr: usize, phnum: usize, entry: usize) {
        self.set_aux(AT_PHDR, phdr);
        self.set_aux(AT_PHNUM, phnum);
        self.set_aux(AT_PHENT, shimld::elf::PHDR_SIZE);
        self.set_aux(AT_ENTRY, entry);
    }

    pub fn set_aux(&mut self, key: usize, val: usize) {
        for i in 0..self.auxc {
            // SAFETY: in bounds; the stack is ours to rewrite before the
            // program starts.
            unsafe {
                if *self.auxv.add(2 * i) == key {
                    *self.auxv.add(2 * i + 1) = val;
                }
            }
        }
    }

    /// Replaces the first `drop` arguments (shimld and its options) with
    /// `insert` (a script's interpreter and its argument, if any), as the
    /// kernel would have started the program. The block (argc, argv, envp,
    /// auxv) moves to keep the stack pointer 16-byte aligned; it moves down
    /// into free stack when it grows (by nine words at most: five levels of
    /// script interpreters, each with an argument, in place of shimld's
    /// argument and the script's), which is why shimld's own frames start a
    /// gap below the block (see `boot`).
    ///
    /// # Safety
    /// Nothing may use pointers into the old layout afterwards, and no live
    /// data may lie in the kernel's stack below the block.
    pub unsafe fn rewrite(&mut self, drop: usize, insert: &[*const u8]) {
        if drop == 0 && insert.is_empty() {
            return;
        }
        self.rebuild(drop, insert, |_| true);
    }

    /// Removes the environment variables that `keep` refuses (as glibc
    /// removes the unsafe ones for a privileged program).
    ///
    /// # Safety
    /// As for `rewrite`.
    pub unsafe fn remove_env(&mut self, keep: impl Fn(&[u8]) -> bool) {
        if (0..self.envc).all(|i| keep(self.env(i))) {
            return;
        }
        self.rebuild(0, &[], keep);
    }

    unsafe fn rebuild(&mut self, drop: usize, insert: &[*const u8], keep: impl Fn(&[u8]) -> bool) {
        let argc = self.argc - drop + insert.len();
        let mut block: alloc::vec::Vec<usize> = alloc::vec::Vec::with_capacity(argc + self.envc + 2 * self.auxc + 3);
        block.push(argc);
        block.extend(insert.iter().map(|p| *p as usize));
        for i in drop..self.argc {
            block.push(*self.argv.add(i) as usize);
        }
        block.push(0);
        for i in 0..self.envc {
            if keep(self.env(i)) {
                block.push(*self.envp.add(i) as usize);
            }
        }
        block.push(0);
        for i in 0..2 * self.auxc {
            block.push(*self.auxv.add(i));
        }
        // Keep the end of the block where it was (the strings follow it),
        // rounding the start down to 16 bytes.
        let end = self.auxv.add(2 * self.auxc) as usize;
        let start = (end - block.len() * 8) & !15;
        core::ptr::copy(block.as_ptr(), start as *mut usize, block.len());
        *self = Stack::new(start as *mut usize);
    }

    /// Replaces argv[0].
    pub fn set_argv0(&mut self, s: *const u8) {
        if self.argc > 0 {
            // SAFETY: argv[0] exists.
            unsafe { *self.argv = s };
        }
    }
}

/// The program's own command line, put back on the stack when shimld was
/// started as a command: shimld's arguments dropped (a script's
/// interpreter and script put in front), `--argv0`, and AT_EXECFN naming
/// the program.
pub struct CommandLine<'a> {
    /// Started as a command (not as the program's PT_INTERP).
    pub direct: bool,
    /// Leading arguments to drop: shimld's, and the script's path.
    pub drop: usize,
    pub inserted: &'a [*const u8],
    pub argv0: Option<*const u8>,
    pub execfn: *const u8,
}

impl CommandLine<'_> {
    /// Rewrites the stack as the kernel would have built it for the program
    /// (nothing to do when the kernel started it).
    ///
    /// # Safety
    /// As `Stack::rewrite`: nothing may use the old layout afterwards.
    pub unsafe fn restore(&self, st: &mut Stack) {
        if self.direct {
            st.rewrite(self.drop, self.inserted);
            if let Some(a) = self.argv0 {
                st.set_argv0(a);
            }
            st.set_aux(AT_EXECFN, self.execfn as usize);
        }
    }
}
