// SPDX-License-Identifier: MIT
/*
 * guest.c - per-guest pages: the file, its writer, the counter mapping and
 * the event state that must survive a restart of vmclockd.
 *
 * The mapping of a calibration into a guest's counter domain is exact
 * integer arithmetic: the period is rescaled with a 192-bit division and
 * the anchor moved to a whole guest tick with its sub-tick remainder taken
 * off the time, so the guest page gives the host page's time to within
 * one unit of 2^-64 s plus the published rounding nanosecond.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vmclock/vmclock-arith.h>
#include <vmclock/vmclock.h>

#include "guest.h"
#include "log.h"

extern char **environ;

/* The rest of a page without a mapping, beyond its struct. */
static const uint8_t zeros[GUEST_PAGE_SIZE - sizeof(struct vmclock_abi)];

int guest_name_ok(const char *name)
{
	size_t i, n = strlen(name);

	if (!n || n >= GUEST_NAME_MAX || name[0] == '.')
		return -EINVAL;
	/* Those are the names of a guest's state file and its temporary. */
	if ((n > 6 && !strcmp(name + n - 6, ".state")) ||
	    (n > 4 && !strcmp(name + n - 4, ".tmp")))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		char ch = name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' ||
		      ch == '.'))
			return -EINVAL;
	}
	return 0;
}

void guest_mapping_identity(struct guest_mapping *m)
{
	m->offset = 0;
	m->frac_bits = 48;
	m->scale = 1ull << 48;
}

uint64_t guest_map_counter(const struct guest_mapping *m, uint64_t host)
{
	unsigned __int128 hs = (unsigned __int128)host * m->scale;

	return (uint64_t)(hs >> m->frac_bits) + m->offset;
}

/*
 * floor((@hi:@lo) / @d) and the remainder, for @hi < @d (so the quotient
 * fits 64 bits): one hardware division.
 */
static uint64_t div128(uint64_t hi, uint64_t lo, uint64_t d, uint64_t *r)
{
#if defined(__x86_64__)
	uint64_t q;

	__asm__("divq %4" : "=a"(q), "=d"(*r) : "a"(lo), "d"(hi), "rm"(d));
	return q;
#else
	unsigned __int128 n = (unsigned __int128)hi << 64 | lo;

	*r = (uint64_t)(n % d);
	return (uint64_t)(n / d);
#endif
}

/*
 * @p * 2^@k / @scale, rounded as asked; UINT64_MAX when the quotient is
 * UINT64_MAX or more.  0 <= k <= 127, so p * 2^k fits 192 bits (n2:n1:n0).
 */
static uint64_t rescale(uint64_t p, int k, uint64_t scale, int round)
{
	uint64_t n2, n1, n0, q, r;

	if (k == 0)
		n2 = 0, n1 = 0, n0 = p;
	else if (k < 64)
		n2 = 0, n1 = p >> (64 - k), n0 = p << k;
	else if (k == 64)
		n2 = 0, n1 = p, n0 = 0;
	else
		n2 = p >> (128 - k), n1 = p << (k - 64), n0 = 0;
	if (n2 || n1 >= scale)
		return VMCLOCK_U64_MAX;
	q = div128(n1, n0, scale, &r);
	if (q == VMCLOCK_U64_MAX)
		return q;
	if (round == VMCLOCK_ROUND_UP && r)
		q = vmclock_add_sat(q, 1);
	else if (round == VMCLOCK_ROUND_NEAREST && r >= scale - r)
		q = vmclock_add_sat(q, 1);
	return q;
}

static int log2u(uint64_t v)
{
	return v ? 63 - __builtin_clzll(v) : -1;
}

/*
 * Largest guest shift whose period still fits in 64 bits.  With
 * p >= 2^lp and scale < 2^(ls + 1), p * 2^(b + t - s) / scale exceeds
 * 2^64 for every t above 64 - lp - b + s + ls: the search starts there
 * (one or two divisions) and, from there down, is the plain search.
 */
static int guest_period(unsigned int b, uint64_t scale, uint64_t p,
			unsigned int s, uint64_t *pg, unsigned int *sg)
{
	int t = 64 - log2u(p) - (int)b + (int)s + log2u(scale);

	if (t > 63)
		t = 63;
	for (; t >= 0; t--) {
		int k = (int)b + t - (int)s;

		if (k < 0)
			return -ERANGE;
		if (k > 127)
			continue;
		*pg = rescale(p, k, scale, VMCLOCK_ROUND_NEAREST);
		if (*pg != VMCLOCK_U64_MAX && *pg) {
			*sg = (unsigned int)t;
			return 0;
		}
	}
	return -ERANGE;
}

/* The per-scale part of a mapping, from its key. */
static void map_rates(struct guest_rates *e)
{
	unsigned int sg = 0;
	int k;

	e->err = guest_period(e->frac_bits, e->scale, e->period, e->shift,
			      &e->pg, &sg);
	e->sg = (uint8_t)sg;
	if (e->err)
		return;
	k = (int)e->frac_bits + (int)sg - (int)e->shift;
	e->est_g = rescale(e->est, k, e->scale, VMCLOCK_ROUND_NEAREST);
	e->max_g = rescale(e->max, k, e->scale, VMCLOCK_ROUND_UP);
}

static int rates_match(const struct guest_rates *e, const struct guest_mapping *m,
		       const struct vmclock_calibration *h)
{
	return e->used && e->scale == m->scale && e->frac_bits == m->frac_bits &&
	       e->period == h->period_frac && e->shift == h->period_shift &&
	       e->est == h->period_esterror_rate &&
	       e->max == h->period_maxerror_rate;
}

/* A scale's slot in struct guest_rates_cache. */
static unsigned int rates_slot(const struct guest_mapping *m)
{
	return (unsigned int)(((m->scale ^ m->frac_bits) *
			       0x9e3779b97f4a7c15ull) >> (64 - GUEST_RATES_BITS));
}

/* The cache's entry for this scale, filled in if it was another's. */
static const struct guest_rates *rates_for(struct guest_rates_cache *c,
					   struct guest_rates *tmp,
					   const struct guest_mapping *m,
					   const struct vmclock_calibration *h)
{
	struct guest_rates *e = tmp;

	if (c) {
		e = &c->e[rates_slot(m)];
		if (rates_match(e, m, h))
			return e;
	}
	*e = (struct guest_rates){ .scale = m->scale, .period = h->period_frac,
				   .est = h->period_esterror_rate,
				   .max = h->period_maxerror_rate,
				   .frac_bits = (uint8_t)m->frac_bits,
				   .shift = h->period_shift, .used = 1 };
	map_rates(e);
	return e;
}

int guest_map_calibration_cached(const struct guest_mapping *m,
				 const struct vmclock_calibration *host,
				 struct vmclock_calibration *out,
				 struct guest_rates_cache *cache)
{
	const struct guest_rates *e;
	struct guest_rates tmp;
	unsigned __int128 hs, corr;
	unsigned int sg, b = m->frac_bits;
	uint64_t pg, rem;

	if (!m->scale || b > 63 || host->period_shift > 63)
		return -EINVAL;
	e = rates_for(cache, &tmp, m, host);
	if (e->err)
		return -ERANGE;
	pg = e->pg;
	sg = e->sg;
	*out = *host;
	out->period_frac = pg;
	out->period_shift = (uint8_t)sg;
	out->period_esterror_rate = e->est_g;
	out->period_maxerror_rate = e->max_g;
	hs = (unsigned __int128)host->counter_value * m->scale;
	rem = b ? (uint64_t)hs & ((1ull << b) - 1) : 0;
	out->counter_value = (uint64_t)(hs >> b) + m->offset;
	/* The whole guest tick lies rem/2^b ticks before the host anchor. */
	corr = ((unsigned __int128)rem * pg) >> (b + sg);
	if (out->time_frac < (uint64_t)corr)
		out->time_sec--;
	out->time_frac -= (uint64_t)corr;
	out->switch_counter = guest_map_counter(m, host->switch_counter);
	/* The floor above, and the rescaled period's rounding. */
	out->time_maxerror_ns = vmclock_add_sat(out->time_maxerror_ns, 1);
	return 0;
}

int guest_map_calibration(const struct guest_mapping *m,
			  const struct vmclock_calibration *host,
			  struct vmclock_calibration *out)
{
	return guest_map_calibration_cached(m, host, out, NULL);
}

/*
 * Structs come from slabs of GUEST_SLAB, each at a cache line's start, so
 * that an update's walk over a fleet touches the first lines of structs
 * laid side by side (and the writers, no longer between them on the
 * heap, lie side by side too): at 10,000 guests this cut about 15% of
 * the update's cost against calloc() per guest.  A freed struct goes on a
 * free list for the next guest; slabs are kept, so the memory is the
 * largest fleet's, until guest_release_slabs() at exit.  Under
 * AddressSanitizer each struct is its own allocation, so that a use after
 * free is still caught.
 */
#define GUEST_SLAB 64
#define GUEST_STRIDE ((sizeof(struct guest) + 63) & ~(size_t)63)

#if defined(__SANITIZE_ADDRESS__)
#define GUEST_SLABS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GUEST_SLABS 0
#endif
#endif
#ifndef GUEST_SLABS
#define GUEST_SLABS 1
#endif

/* A slab's first cache line links it to the others; its structs follow. */
struct guest_slab {
	struct guest_slab *next;
};

static struct guest_slab *guest_slabs;
static struct guest *guest_free_list;
static unsigned long guests_live;

struct guest *guest_alloc(void)
{
	struct guest_slab *slab;
	struct guest *g;
	size_t i;

	if (!GUEST_SLABS)
		return calloc(1, sizeof(*g));
	if (!guest_free_list) {
		slab = aligned_alloc(64, 64 + GUEST_SLAB * GUEST_STRIDE);
		if (!slab)
			return NULL;
		slab->next = guest_slabs;
		guest_slabs = slab;
		/* Handed out from the slab's start. */
		for (i = GUEST_SLAB; i-- > 0;) {
			g = (struct guest *)((char *)slab + 64 + i * GUEST_STRIDE);
			g->next = guest_free_list;
			guest_free_list = g;
		}
	}
	g = guest_free_list;
	guest_free_list = g->next;
	memset(g, 0, sizeof(*g));
	guests_live++;
	return g;
}

void guest_free(struct guest *g)
{
	if (!g)
		return;
	if (!GUEST_SLABS) {
		free(g);
		return;
	}
	g->next = guest_free_list;
	guest_free_list = g;
	guests_live--;
}

void guest_release_slabs(void)
{
	struct guest_slab *s;

	if (guests_live)
		return;
	while ((s = guest_slabs)) {
		guest_slabs = s->next;
		free(s);
	}
	guest_free_list = NULL;
}

/* Pages of each kind now open, and how many may be (guest_set_limits()). */
static unsigned long io_count[3];
static struct guest_limits limits = { ULONG_MAX, ULONG_MAX };
static int told_unmapped, told_reopen;

void guest_set_limits(const struct guest_limits *l)
{
	limits = *l;
}

void guest_io_counts(unsigned long n[3])
{
	memcpy(n, io_count, sizeof(io_count));
}

static unsigned long read_ulong(const char *path)
{
	FILE *f = fopen(path, "re");
	unsigned long v = 0;

	if (f) {
		if (fscanf(f, "%lu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

/* Keep room for everything else: 4096 mappings, 1024 descriptors. */
void guest_default_limits(struct guest_limits *l)
{
	unsigned long maps = read_ulong("/proc/sys/vm/max_map_count");
	struct rlimit r;

	l->max_mapped = !maps ? ULONG_MAX :
			maps > 8192 ? maps - 4096 : maps / 2;
	l->max_fds = ULONG_MAX;
	if (!getrlimit(RLIMIT_NOFILE, &r) && r.rlim_cur != RLIM_INFINITY)
		l->max_fds = r.rlim_cur > 2048 ? r.rlim_cur - 1024 :
						 r.rlim_cur / 2;
}

/* Store all of @len bytes at @at of the file. */
static int put(int fd, const void *buf, size_t len, uint64_t at)
{
	ssize_t n = pwrite(fd, buf, len, (off_t)at);

	return n == (ssize_t)len ? 0 : n < 0 ? -errno : -EIO;
}

/*
 * A page without a mapping: copy the writer's shadow of its struct to the
 * file in the sequence lock's order, seq_count odd (the transaction's
 * value), the other fields, seq_count even.  Each pwrite()'s stores reach
 * the page before the next one's: x86 keeps stores in order, and the
 * fences order them on weaker CPUs.  A failure leaves seq_count odd (a
 * reader sees an update in progress, never a torn page) until the next
 * commit writes every field again.
 */
static int flush(struct guest *g, uint32_t seq)
{
	const size_t at = offsetof(struct vmclock_abi, seq_count), rest = at + 4;
	const uint8_t *s = (const uint8_t *)g->shadow;
	uint32_t odd = htole32(seq - 1);
	int fd = g->fd, ret;

	if (fd < 0)
		fd = open(g->path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	ret = put(fd, &odd, sizeof(odd), g->ram_offset + at);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	/* The header goes with the first commit: a fresh page's is new. */
	if (!ret && g->pw_header)
		ret = put(fd, s, at, g->ram_offset);
	if (!ret)
		ret = put(fd, s + rest, sizeof(struct vmclock_abi) - rest,
			  g->ram_offset + rest);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!ret)
		ret = put(fd, s + at, sizeof(odd), g->ram_offset + at);
	if (!ret)
		g->pw_header = 0;
	if (fd != g->fd)
		close(fd);
	return ret;
}

static __attribute__((noinline)) void spawn_notify(struct guest *g,
						   uint32_t seq)
{
	char seqs[16];
	char *argv[] = { g->notify_cmd, g->name, seqs, NULL };
	pid_t pid;
	int ret;

	snprintf(seqs, sizeof(seqs), "%u", seq);
	/* SIGCHLD is ignored in main(): children reap themselves. */
	ret = posix_spawn(&pid, g->notify_cmd, NULL, NULL, argv, environ);
	if (ret)
		log_ratelimited(&g->notify_fail, 100, LOG_WARNING,
				"%s: notify command: %s", g->name,
				strerror(ret));
}

/* The writer's hook, after each commit. */
/* Out of line, so that the hook of a mapped page stays a few tests. */
static __attribute__((noinline)) void write_through(struct guest *g,
						    uint32_t seq)
{
	int ret = flush(g, seq);

	if (ret)
		log_ratelimited(&g->flush_fail, 100, LOG_WARNING,
				"%s: writing the page: %s", g->name,
				strerror(-ret));
}

static void notify(void *ctx, uint32_t seq)
{
	struct guest *g = ctx;

	if (g->shadow)
		write_through(g, seq);
	if (g->doorbell)
		g->doorbell(g->doorbell_ctx);
	else if (g->notify_cmd[0])
		spawn_notify(g, seq);
}

/*
 * The writer calls notify() only while the page has somebody to tell: a
 * file to write through, a doorbell or a command.  A fleet's mapped pages
 * without one commit without the call.
 */
static void rehook(struct guest *g)
{
	if (g->w)
		vmclock_writer_set_notify(g->w, g->shadow || g->doorbell ||
					  g->notify_cmd[0] ? notify : NULL, g);
}

void guest_set_doorbell(struct guest *g, void (*doorbell)(void *ctx),
			void *ctx)
{
	g->doorbell = doorbell;
	g->doorbell_ctx = ctx;
	rehook(g);
}

static void load_state(struct guest *g)
{
	char line[512];
	int fd = open(g->state_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
	unsigned long long off, scale;
	unsigned int bits;
	int awaiting, stopped;

	if (!f) {
		if (fd >= 0)
			close(fd);
		return;
	}
	if (fgets(line, sizeof(line), f) &&
	    sscanf(line, "offset=%llu scale=%llu frac-bits=%u awaiting=%d stopped=%d",
		   &off, &scale, &bits, &awaiting, &stopped) == 5 &&
	    scale && bits <= 63) {
		g->map_ = (struct guest_mapping){ off, scale, bits };
		g->awaiting_mapping = !!awaiting;
		g->stopped = !!stopped;
	} else {
		log_warn("%s: ignoring malformed state file", g->state_path);
	}
	if (fgets(line, sizeof(line), f) && !strncmp(line, "notify=", 7)) {
		line[strcspn(line, "\n")] = '\0';
		if (strlen(line + 7) < sizeof(g->notify_cmd))
			strcpy(g->notify_cmd, line + 7);
	}
	fclose(f);
}

FILE *state_file_create(const char *path, mode_t mode, char *tmp, size_t len)
{
	FILE *f;
	int fd, err;

	snprintf(tmp, len, "%s.tmp", path);
	/* Never through a link planted at the temporary's name. */
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f && fd >= 0) {
		err = errno;
		close(fd);
		errno = err;
	}
	return f;
}

int state_file_commit(FILE *f, const char *tmp, const char *path)
{
	int ret;

	if (fclose(f) || rename(tmp, path)) {
		ret = -errno;
		unlink(tmp);
		return ret;
	}
	return 0;
}

int guest_save_state(struct guest *g)
{
	char tmp[sizeof(g->state_path) + 8];
	FILE *f;

	if (g->is_host)
		return 0;
	f = state_file_create(g->state_path, 0644, tmp, sizeof(tmp));
	if (!f)
		return -errno;
	fprintf(f, "offset=%llu scale=%llu frac-bits=%u awaiting=%d stopped=%d\n"
		   "notify=%s\n",
		(unsigned long long)g->map_.offset,
		(unsigned long long)g->map_.scale, g->map_.frac_bits,
		g->awaiting_mapping, g->stopped, g->notify_cmd);
	return state_file_commit(f, tmp, g->state_path);
}

/* The file, open: a guest RAM file must hold the page at ram_offset. */
static int open_file(struct guest *g)
{
	struct stat st;

	g->fd = g->in_ram ? open(g->path, O_RDWR | O_CLOEXEC) :
			    open(g->path, O_RDWR | O_CREAT | O_CLOEXEC |
				 O_NOFOLLOW, 0644);
	if (g->fd < 0)
		return -errno;
	if (fstat(g->fd, &st) || !S_ISREG(st.st_mode))
		return -EINVAL;
	if (!g->in_ram)
		return st.st_size != GUEST_PAGE_SIZE &&
		       ftruncate(g->fd, GUEST_PAGE_SIZE) ? -errno : 0;
	if (g->ram_offset & (GUEST_PAGE_SIZE - 1))
		return -EINVAL;
	if ((uint64_t)st.st_size < g->ram_offset + GUEST_PAGE_SIZE)
		return -ERANGE;
	return 0;
}

/*
 * Map the page and close the descriptor (the mapping keeps the file), or,
 * past limits.max_mapped or vm.max_map_count, keep its struct in memory
 * for flush(), with the descriptor while limits.max_fds allows (always for
 * a RAM file) or else none: flush() then opens the file each time.
 */
static int place_page(struct guest *g)
{
	int ret = open_file(g);
	ssize_t n;

	if (ret)
		return ret;
	if (io_count[GUEST_IO_MAPPED] < limits.max_mapped) {
		void *m = mmap(NULL, GUEST_PAGE_SIZE, PROT_READ | PROT_WRITE,
			       MAP_SHARED, g->fd, (off_t)g->ram_offset);

		if (m != MAP_FAILED) {
			g->map = m;
			g->io = GUEST_IO_MAPPED;
			io_count[GUEST_IO_MAPPED]++;
			close(g->fd);
			g->fd = -1;
			return 0;
		}
		if (errno != ENOMEM)
			return -errno;
	}
	if (!told_unmapped++)
		log_info("%s: not mapped (%lu pages are; limit %lu or vm.max_map_count): this and further pages are written with pwrite()",
			 g->name, io_count[GUEST_IO_MAPPED], limits.max_mapped);
	g->shadow = calloc(1, sizeof(*g->shadow));
	if (!g->shadow)
		return -ENOMEM;
	n = pread(g->fd, g->shadow, sizeof(*g->shadow), (off_t)g->ram_offset);
	if (n != (ssize_t)sizeof(*g->shadow)) {
		ret = n < 0 ? -errno : -EIO;
		free(g->shadow);
		g->shadow = NULL;
		return ret;
	}
	g->pw_header = 1;
	g->io = g->in_ram || io_count[GUEST_IO_PWRITE] < limits.max_fds ?
		GUEST_IO_PWRITE : GUEST_IO_REOPEN;
	io_count[g->io]++;
	if (g->io == GUEST_IO_REOPEN && !told_reopen++)
		log_info("%s: %lu descriptors kept (limit %lu): this and further pages are opened for each write",
			 g->name, io_count[GUEST_IO_PWRITE], limits.max_fds);
	return 0;
}

static int make_writer(struct guest *g, uint8_t time_type)
{
	struct vmclock_writer_config cfg = {
		.counter_id = (uint8_t)vmclock_counter_id_native(),
		.time_type = time_type,
		.size = GUEST_PAGE_SIZE,
		.adopt = 1,
		.policy = VMCLOCK_MONOTONIC_ADJUST,
		.publish_window_ticks = PUBLISH_WINDOW_TICKS,
		.notify = notify,
		.notify_ctx = g,
	};
	/* A shadow is the struct alone (vmclock_writer_create()). */
	volatile void *mem = g->map ? g->map : (void *)g->shadow;
	size_t len = g->map ? GUEST_PAGE_SIZE : sizeof(*g->shadow);
	const volatile struct vmclock_abi *pg = mem;

	g->w = vmclock_writer_create(mem, len, &cfg);
	if (!g->w && errno == EINVAL &&
	    !vmclock_page_validate(mem, GUEST_PAGE_SIZE, NULL) &&
	    pg->time_type != time_type) {
		/* Keep the page's time scale rather than start afresh. */
		log_warn("%s: page has time type %s; keeping it", g->path,
			 vmclock_time_type_name(pg->time_type));
		cfg.time_type = pg->time_type;
		g->w = vmclock_writer_create(mem, len, &cfg);
	}
	return g->w ? 0 : -errno;
}

static int open_page(struct guest *g, const char *name, const char *path,
		     const char *state_path, uint8_t time_type);

int guest_open(struct guest *g, const char *name, const char *path,
	       const char *state_path, uint8_t time_type)
{
	memset(g, 0, sizeof(*g));
	return open_page(g, name, path, state_path, time_type);
}

int guest_open_ram(struct guest *g, const char *name, const char *ram,
		   uint64_t offset, const char *state_path, uint8_t time_type)
{
	memset(g, 0, sizeof(*g));
	g->in_ram = 1;
	g->ram_offset = offset;
	return open_page(g, name, ram, state_path, time_type);
}

static int open_page(struct guest *g, const char *name, const char *path,
		     const char *state_path, uint8_t time_type)
{
	int ret;

	snprintf(g->name, sizeof(g->name), "%s", name);
	snprintf(g->path, sizeof(g->path), "%s", path);
	g->is_host = !state_path;
	g->fd = -1;
	guest_mapping_identity(&g->map_);
	if (state_path) {
		snprintf(g->state_path, sizeof(g->state_path), "%s", state_path);
		load_state(g);
	}
	ret = place_page(g);
	if (!ret)
		ret = make_writer(g, time_type);
	/* The writer zeroed a fresh shadow's struct: the page's rest too. */
	if (!ret && g->shadow && !vmclock_writer_adopted(g->w))
		ret = put(g->fd, zeros, sizeof(zeros),
			  g->ram_offset + sizeof(*g->shadow));
	if (ret) {
		log_err("%s: %s", path, strerror(-ret));
		guest_close(g, 0);
		return ret;
	}
	if (!vmclock_writer_adopted(g->w)) {
		vmclock_writer_begin(g->w);
		vmclock_writer_set_flags(g->w, VMCLOCK_FLAG_TIME_MONOTONIC, 0);
		vmclock_writer_set_status(g->w, VMCLOCK_STATUS_INITIALIZING);
		vmclock_writer_commit(g->w);
	}
	vmclock_writer_set_flags(g->w, g->notify_cmd[0] ?
				 VMCLOCK_FLAG_NOTIFICATION_PRESENT : 0,
				 g->notify_cmd[0] ? 0 :
				 VMCLOCK_FLAG_NOTIFICATION_PRESENT);
	rehook(g);
	if (g->io == GUEST_IO_REOPEN) {
		close(g->fd);
		g->fd = -1;
	}
	log_info("%s: %s page %s", name, vmclock_writer_adopted(g->w) ?
		 "adopted" : "created", path);
	return 0;
}

void guest_close(struct guest *g, int unlink_files)
{
	vmclock_writer_destroy(g->w);
	g->w = NULL;
	if (g->map || g->shadow)
		io_count[g->io]--;
	if (g->map)
		munmap(g->map, GUEST_PAGE_SIZE);
	g->map = NULL;
	free(g->shadow);
	g->shadow = NULL;
	if (g->fd >= 0)
		close(g->fd);
	g->fd = -1;
	if (unlink_files) {
		if (!g->in_ram)
			unlink(g->path);
		if (g->state_path[0])
			unlink(g->state_path);
	}
}

/* Map @u for @m's scale at offset 0 into @e and encode it (once a batch). */
static __attribute__((noinline)) void
image_make(struct guest_image *e, const struct guest_update *u,
	   const struct guest_mapping *m)
{
	struct guest_mapping m0 = *m;
	struct vmclock_calibration gc;
	struct vmclock_writer_update wu = { &gc, u->status, u->leap,
					    u->tai_offset, u->tai_valid };

	e->gen = u->gen;
	e->scale = m->scale;
	e->frac_bits = m->frac_bits;
	m0.offset = 0;
	e->err = guest_map_calibration_cached(&m0, u->cal, &gc, u->rates) ?
			 -EDOM :
			 vmclock_writer_image_prepare(&e->img, &wu);
}

/*
 * @u's image for @m's scale, from @u->rates, made in a slot left by an
 * earlier update; NULL when this update's image of another scale holds
 * the slot (guests of a scale of their own then take the general path
 * instead of making an image each).
 */
static struct guest_image *image_for(const struct guest_update *u,
				     const struct guest_mapping *m)
{
	struct guest_image *e = &u->rates->img[rates_slot(m)];

	if (e->gen != u->gen)
		image_make(e, u, m);
	else if (e->scale != m->scale || e->frac_bits != m->frac_bits)
		return NULL;
	return e;
}

/*
 * A guest whose page is its scale's image moved by its offset: its status
 * the update's, its line compared with the last.
 */
static int takes_image(const struct guest *g, const struct guest_update *u)
{
	return u->gen && u->rates && !g->is_host && !g->remap &&
	       !g->awaiting_mapping;
}

/*
 * Map @u into @g's counter domain and publish it; -EDOM if unmappable.
 * Out of line, as are the hook's rare paths: a fleet's pages take the
 * image, whose calls stay short.
 */
static __attribute__((noinline)) int
publish_mapped(struct guest *g, const struct guest_update *u,
	       struct vmclock_publish_result *res)
{
	struct vmclock_calibration gc;
	struct vmclock_writer_update wu = {
		&gc, g->awaiting_mapping ? VMCLOCK_STATUS_INITIALIZING : u->status,
		u->leap, u->tai_offset, u->tai_valid
	};
	int ret;

	if (g->is_host)
		gc = *u->cal;
	else if (guest_map_calibration_cached(&g->map_, u->cal, &gc, u->rates))
		return -EDOM;
	/* A measured mapping is only known to within its probe window. */
	gc.time_maxerror_ns = vmclock_add_sat(gc.time_maxerror_ns,
					      g->map_err_ns);
	gc.time_esterror_ns = vmclock_add_sat(gc.time_esterror_ns,
					      g->map_err_ns);
	if (!g->remap)
		return vmclock_writer_publish_memo(g->w, &wu, res,
				(g->is_host || !u->rates) ? NULL :
				&u->rates->memo[rates_slot(&g->map_)]);
	/*
	 * The first line after a disruption is in a new counter domain: the
	 * marker already told readers to drop the old line, so it is not
	 * compared with it.
	 */
	vmclock_writer_begin(g->w);
	vmclock_writer_set_flags(g->w, 0, VMCLOCK_FLAG_TIME_MONOTONIC);
	ret = vmclock_writer_publish(g->w, &wu, res);
	vmclock_writer_set_flags(g->w, VMCLOCK_FLAG_TIME_MONOTONIC, 0);
	vmclock_writer_commit(g->w);
	g->remap = 0;
	return ret;
}

/* Count (or, for a page on its own, log) a line moved for TIME_MONOTONIC. */
static __attribute__((noinline)) void
note_moved(struct guest *g, const struct guest_update *u,
	   const struct vmclock_publish_result *res)
{
	if (u->moved) {
		u->moved->pages++;
		if (res->adjust_ns > u->moved->max_ns)
			u->moved->max_ns = res->adjust_ns;
	} else {
		log_debug("%s: line moved forward %llu ns for TIME_MONOTONIC",
			  g->name, (unsigned long long)res->adjust_ns);
	}
}

/*
 * guest_update() for a page that is not its scale's made image moved:
 * make the image (the page then takes the short path) or take the
 * general one.
 */
static __attribute__((noinline)) int
update_slow(struct guest *g, const struct guest_update *u)
{
	struct vmclock_publish_result res = { 0 };
	struct guest_image *e;
	int ret;

	e = takes_image(g, u) ? image_for(u, &g->map_) : NULL;
	if (e && !e->err)
		return guest_update(g, u);
	ret = e ? e->err : publish_mapped(g, u, &res);
	if (ret == -EDOM)	/* not mappable: nothing was published */
		return -ERANGE;
	if (res.adjusted)
		note_moved(g, u, &res);
	g->updates++;
	return ret;
}

/*
 * Most pages of a fleet: the scale's image of this update is made, and
 * the page takes it.  Everything else, the first page of a scale and
 * batch included, goes through update_slow().
 */
int guest_update(struct guest *g, const struct guest_update *u)
{
	struct vmclock_publish_result res;
	struct guest_image *e;
	int ret;

	if (g->stopped)
		return 0;
	if (!takes_image(g, u))
		return update_slow(g, u);
	e = &u->rates->img[rates_slot(&g->map_)];
	if (e->gen != u->gen || e->scale != g->map_.scale ||
	    e->frac_bits != g->map_.frac_bits || e->err)
		return update_slow(g, u);
	/*
	 * A measured mapping is only known to within its window.  Fills
	 * @res whatever it returns.
	 */
	ret = vmclock_writer_publish_image(g->w, &e->img, g->map_.offset,
					   g->map_err_ns, &res);
	if (res.adjusted)
		note_moved(g, u, &res);
	g->updates++;
	return ret;
}

static uint64_t random_value(void)
{
	uint64_t v = 0;

	while (!v)
		if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
			v = 0;
	return v;
}

int guest_migrate_out(struct guest *g, const char *state)
{
	const uint64_t both = VMCLOCK_FLAG_DISRUPTION_SOON |
			      VMCLOCK_FLAG_DISRUPTION_IMMINENT;

	if (!strcmp(state, "soon"))
		return vmclock_writer_set_flags(g->w,
				VMCLOCK_FLAG_DISRUPTION_SOON, both);
	if (!strcmp(state, "imminent"))
		return vmclock_writer_set_flags(g->w,
				VMCLOCK_FLAG_DISRUPTION_IMMINENT, both);
	if (!strcmp(state, "clear"))
		return vmclock_writer_set_flags(g->w, 0, both);
	return -EINVAL;
}

/* A marker no earlier page of this guest has had (random 64 bits). */
static void disrupt(struct guest *g, uint64_t generation)
{
	vmclock_writer_begin(g->w);
	vmclock_writer_bump_disruption(g->w, random_value());
	if (generation)
		vmclock_writer_bump_generation(g->w, generation);
	vmclock_writer_set_flags(g->w, 0, VMCLOCK_FLAG_DISRUPTION_SOON |
				 VMCLOCK_FLAG_DISRUPTION_IMMINENT);
	vmclock_writer_set_status(g->w, VMCLOCK_STATUS_INITIALIZING);
	vmclock_writer_commit(g->w);
	g->awaiting_mapping = 1;
	g->stopped = 0;
	guest_save_state(g);
}

int guest_migrated_in(struct guest *g)
{
	disrupt(g, 0);
	return 0;
}

int guest_restored(struct guest *g, uint64_t generation)
{
	disrupt(g, generation ? generation : random_value());
	return 0;
}

int guest_set_mapping(struct guest *g, const struct guest_mapping *m)
{
	struct vmclock_calibration probe = { .counter_value = 1ull << 40,
					     .period_frac = 1ull << 63,
					     .period_shift = 31 }, out;

	/* Refuse a mapping whose periods cannot be represented. */
	if (!m->scale || m->frac_bits > 63 ||
	    guest_map_calibration(m, &probe, &out))
		return -ERANGE;
	g->map_ = *m;
	g->remap = g->awaiting_mapping;
	g->awaiting_mapping = 0;
	return guest_save_state(g);
}

int guest_set_notify(struct guest *g, const char *cmd)
{
	snprintf(g->notify_cmd, sizeof(g->notify_cmd), "%s", cmd);
	rehook(g);
	vmclock_writer_set_flags(g->w, cmd[0] ?
				 VMCLOCK_FLAG_NOTIFICATION_PRESENT : 0,
				 cmd[0] ? 0 : VMCLOCK_FLAG_NOTIFICATION_PRESENT);
	return guest_save_state(g);
}

void guest_stop(struct guest *g)
{
	g->stopped = 1;
	guest_save_state(g);
}

void guest_resume(struct guest *g)
{
	g->stopped = 0;
	guest_save_state(g);
}
