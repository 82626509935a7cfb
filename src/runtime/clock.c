// SPDX-License-Identifier: MIT
/*
 * src/runtime/clock.c: the coarse monotonic clock, read through the vDSO
 * directly. libc's clock_gettime() only jumps there, but it lies in a part
 * of libc's text that a program using the allocator may never touch
 * otherwise, and its first call maps the 64 KiB around it (the kernel's
 * fault-around): the allocator's idle drain made that part of every such
 * process's resident memory. The vDSO is mapped in every process; where it
 * is not (a kernel booted with vdso=0, valgrind), the system call answers.
 */
#include <elf.h>
#include <link.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "runtime/clock.h"

#if defined(__x86_64__)
#define VDSO_CLOCK "__vdso_clock_gettime"
#elif defined(__aarch64__)
#define VDSO_CLOCK "__kernel_clock_gettime"
#endif

static uint64_t ns_of(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000ull + (uint64_t)ts->tv_nsec;
}

#ifdef VDSO_CLOCK
typedef int (*clock_fn)(clockid_t, struct timespec *);

/* The looked-up function; (clock_fn)1 until looked up. Threads that race
 * to look it up find the same answer. */
static clock_fn vdso_clock = (clock_fn)1;

static const ElfW(Dyn) *dyn_entry(const ElfW(Dyn) *dyn, ElfW(Sxword) tag)
{
	for (; dyn->d_tag != DT_NULL; dyn++)
		if (dyn->d_tag == tag)
			return dyn;
	return NULL;
}

/* The vDSO's VDSO_CLOCK, by its SysV hash table's symbol count; NULL if
 * anything is missing. */
static clock_fn find_in_vdso(void)
{
	const char *base = (const char *)getauxval(AT_SYSINFO_EHDR);
	const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)base;
	const ElfW(Phdr) *ph;
	const ElfW(Dyn) *dyn = NULL, *sym_e, *str_e, *hash_e;
	uintptr_t bias = 0;
	int loaded = 0;

	if (!base || memcmp(eh->e_ident, ELFMAG, SELFMAG))
		return NULL;
	ph = (const ElfW(Phdr) *)(base + eh->e_phoff);
	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD && !loaded) {
			bias = (uintptr_t)base + ph[i].p_offset - ph[i].p_vaddr;
			loaded = 1;
		} else if (ph[i].p_type == PT_DYNAMIC) {
			dyn = (const ElfW(Dyn) *)(base + ph[i].p_offset);
		}
	}
	if (!loaded || !dyn || !(sym_e = dyn_entry(dyn, DT_SYMTAB)) ||
	    !(str_e = dyn_entry(dyn, DT_STRTAB)) ||
	    !(hash_e = dyn_entry(dyn, DT_HASH)))
		return NULL;

	const ElfW(Sym) *syms = (const ElfW(Sym) *)(bias + sym_e->d_un.d_ptr);
	const char *names = (const char *)(bias + str_e->d_un.d_ptr);
	const Elf32_Word *hash = (const Elf32_Word *)(bias +
						      hash_e->d_un.d_ptr);

	for (Elf32_Word i = 0; i < hash[1]; i++)
		if (ELF64_ST_TYPE(syms[i].st_info) == STT_FUNC &&
		    syms[i].st_shndx != SHN_UNDEF &&
		    !strcmp(names + syms[i].st_name, VDSO_CLOCK))
			return (clock_fn)(bias + syms[i].st_value);
	return NULL;
}


uint64_t percpu_coarse_ns(void)
{
	clock_fn fn = __atomic_load_n(&vdso_clock, __ATOMIC_RELAXED);
	struct timespec ts = { 0, 0 };

	if (fn == (clock_fn)1) {
		fn = find_in_vdso();
		__atomic_store_n(&vdso_clock, fn, __ATOMIC_RELAXED);
	}
	if (!fn || fn(CLOCK_MONOTONIC_COARSE, &ts))
		syscall(SYS_clock_gettime, CLOCK_MONOTONIC_COARSE, &ts);
	return ns_of(&ts);
}
#else
/* Elsewhere libc's: the system call's timespec need not be libc's. */
uint64_t percpu_coarse_ns(void)
{
	struct timespec ts = { 0, 0 };

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ns_of(&ts);
}
#endif
