// SPDX-License-Identifier: MIT
/*
 * driver.c - main() for a fuzz target without libFuzzer: runs every file
 * named (or every file in every directory named) through
 * LLVMFuzzerTestOneInput once; with no argument, the corpus named by
 * FUZZ_CORPUS at build time.  make check replays the committed corpora
 * this way with the ordinary compiler (and, under SAN=, its sanitizers); a
 * property failure aborts with the file's name on stderr.
 */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static const char *current;

/* A failed property aborts: say which input it was. */
static void on_abort(int sig)
{
	(void)sig;
	if (current)
		fprintf(stderr, "while replaying %s\n", current);
}

static int run_file(const char *path)
{
	static uint8_t buf[1 << 16];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f) {
		perror(path);
		return -1;
	}
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	current = path;
	if (getenv("FUZZ_VERBOSE"))
		fprintf(stderr, "%s\n", path);
	LLVMFuzzerTestOneInput(buf, n);
	current = NULL;
	return 0;
}

static int run_dir(const char *dir, int *count)
{
	struct dirent **names;
	char path[4096];
	int n, i, err = 0;

	n = scandir(dir, &names, NULL, alphasort);
	if (n < 0) {
		perror(dir);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", dir,
				 names[i]->d_name);
			err |= run_file(path);
			++*count;
		}
		free(names[i]);
	}
	free(names);
	return err;
}

int main(int argc, char **argv)
{
	const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 :
						   argv[0];
	struct stat st;
	int i, count = 0, err = 0;

	signal(SIGABRT, on_abort);

#ifdef FUZZ_CORPUS
	/* No argument: the committed corpus this program was built for. */
	if (argc < 2)
		err |= run_dir(FUZZ_CORPUS, &count);
#endif
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			err |= run_dir(argv[i], &count);
		} else {
			err |= run_file(argv[i]);
			count++;
		}
	}
	/* A property failure aborts before this line. */
	printf("%s: %d inputs replayed\n", name, count);
	printf("%d passed, %d failed\n", err ? 0 : 1, err ? 1 : 0);
	return err ? 1 : 0;
}
