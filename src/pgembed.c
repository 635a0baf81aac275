/*
 * The embedded PostgreSQL: initdb on first start, then the server as a child
 * process of hcr, reachable only through a Unix socket in a private directory.
 *
 * The server is started with fork/exec rather than pg_ctl so that hcr owns the
 * process: it knows the pid, notices at once when the server dies during
 * start-up, and stops it itself. The child calls setsid() so that a Ctrl-C in
 * the terminal (SIGINT to the foreground process group) reaches hcr only; hcr
 * then stops the server cleanly. PostgreSQL refuses to run as root, so when
 * hcr is root the child drops to the `postgres` user before exec. See
 * docs/store.md.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "hcr/error.h"
#include "hcr/log.h"
#include "hcr/mem.h"
#include "hcr/pgembed.h"

#define PG_PORT          "5432"
#define SOCKET_NAME      ".s.PGSQL." PG_PORT
#define START_TIMEOUT_MS 60000
#define STOP_TIMEOUT_MS  30000
#define QUIT_TIMEOUT_MS  5000
#define LOG_TAIL_LINES   20
#define MAX_GROUPS       64
#define BINDIR_HINT      "install postgresql-15 (make deps) or set database.embedded.bin_dir"

struct hcr_pgembed {
	pid_t pid;
	char *dir;
	char *run;        /* socket directory */
	bool run_private; /* a mkdtemp directory under /tmp, removed at stop */
	char *conninfo;
};

/* Who the server runs as: ourselves, or `postgres` when we are root. */
typedef struct {
	bool drop;
	uid_t uid;
	gid_t gid;
	gid_t groups[MAX_GROUPS];
	int ngroups;
} runas;

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static bool is_executable(const char *dir, const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return false;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

static bool has_server(const char *dir)
{
	return is_executable(dir, "initdb") && is_executable(dir, "postgres");
}

/* `pg_config --bindir`, or false when there is no pg_config on PATH. */
static bool pg_config_bindir(char *out, size_t size)
{
	FILE *p = popen("pg_config --bindir 2>/dev/null", "r");
	bool ok = false;

	if (!p)
		return false;
	if (fgets(out, (int)size, p)) {
		out[strcspn(out, "\r\n")] = '\0';
		ok = out[0] != '\0';
	}
	if (pclose(p) != 0)
		ok = false;
	return ok;
}

/* The newest /usr/lib/postgresql/<N>/bin holding a server. */
static bool newest_debian_bindir(char *out, size_t size)
{
	DIR *d = opendir("/usr/lib/postgresql");
	struct dirent *e;
	long best = -1;
	char path[PATH_MAX];

	if (!d)
		return false;
	while ((e = readdir(d)) != NULL) {
		char *end;
		long v = strtol(e->d_name, &end, 10);

		if (end == e->d_name || *end != '\0' || v <= best)
			continue;
		snprintf(path, sizeof(path), "/usr/lib/postgresql/%s/bin", e->d_name);
		if (has_server(path))
			best = v;
	}
	closedir(d);
	if (best < 0)
		return false;
	return snprintf(out, size, "/usr/lib/postgresql/%ld/bin", best) < (int)size;
}

int hcr_pgembed_find_bindir(char *out, size_t size, const char *bin_dir, hcr_error *err)
{
	char found[PATH_MAX];

	if (bin_dir && bin_dir[0]) {
		if (!has_server(bin_dir)) {
			hcr_error_set(err, HCR_ERROR, HCR_ERR_CONFIG,
				      "PostgreSQL server binaries not found in \"%s\"", bin_dir);
			hcr_error_detail(err, "initdb and postgres must both be executable there");
			hcr_error_hint(err, BINDIR_HINT);
			return HCR_ERROR;
		}
		snprintf(found, sizeof(found), "%s", bin_dir);
	} else if (!(pg_config_bindir(found, sizeof(found)) && has_server(found)) &&
		   !newest_debian_bindir(found, sizeof(found))) {
		hcr_error_set(err, HCR_ERROR, HCR_ERR_CONFIG,
			      "PostgreSQL server binaries not found");
		hcr_error_detail(err, "neither pg_config --bindir nor /usr/lib/postgresql/*/bin "
				      "has initdb and postgres");
		hcr_error_hint(err, BINDIR_HINT);
		return HCR_ERROR;
	}
	if (strlen(found) >= size)
		return hcr_error_set(err, HCR_ERROR, HCR_ERR_INTERNAL,
				     "PostgreSQL binary directory path is too long");
	memcpy(out, found, strlen(found) + 1);
	return HCR_OK;
}

/* Appends `s` to `b` as a single-quoted libpq conninfo value. */
static void conninfo_quote(hcr_buf *b, const char *s)
{
	hcr_buf_puts(b, "'");
	for (; *s; s++) {
		if (*s == '\'' || *s == '\\')
			hcr_buf_puts(b, "\\");
		hcr_buf_append(b, s, 1);
	}
	hcr_buf_puts(b, "'");
}

static char *make_conninfo(const char *run, const char *dbname)
{
	hcr_buf b = {0};

	hcr_buf_puts(&b, "host=");
	conninfo_quote(&b, run);
	hcr_buf_printf(&b, " port=" PG_PORT " dbname=%s user=hcr", dbname);
	return b.data;
}

static int sys_error(hcr_error *err, const char *what, const char *path)
{
	int e = errno;

	hcr_error_set(err, HCR_ERROR, HCR_ERR_INTERNAL, "could not %s \"%s\"", what, path);
	hcr_error_detail(err, "%s", strerror(e));
	return HCR_ERROR;
}

/* mkdir -p with `mode` for the directories it creates. */
static int mkdir_p(const char *path, mode_t mode, hcr_error *err)
{
	char *p = hcr_strdup(path), *s;
	int rc = HCR_OK;

	for (s = p + 1;; s++) {
		char c = *s;

		if (c != '/' && c != '\0')
			continue;
		*s = '\0';
		if (mkdir(p, mode) != 0 && errno != EEXIST) {
			rc = sys_error(err, "create directory", p);
			goto done;
		}
		*s = c;
		if (c == '\0')
			break;
	}
done:
	free(p);
	return rc;
}

static int lookup_postgres(runas *ra, hcr_error *err)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	int n = MAX_GROUPS;

	memset(ra, 0, sizeof(*ra));
	if (geteuid() != 0)
		return HCR_OK;
	if (getpwnam_r("postgres", &pw, buf, sizeof(buf), &res) != 0 || !res) {
		hcr_error_set(err, HCR_ERROR, HCR_ERR_CONFIG, "user \"postgres\" does not exist");
		hcr_error_detail(err, "PostgreSQL refuses to run as root, and hcr is running as "
				      "root");
		hcr_error_hint(err, "create the postgres user (the postgresql package does), run "
				    "hcr as another user, or set database.url");
		return HCR_ERROR;
	}
	ra->drop = true;
	ra->uid = pw.pw_uid;
	ra->gid = pw.pw_gid;
	if (getgrouplist("postgres", pw.pw_gid, ra->groups, &n) < 0)
		n = 1; /* more than MAX_GROUPS: keep the primary group only */
	ra->groups[0] = pw.pw_gid;
	ra->ngroups = n;
	return HCR_OK;
}

static bool runas_in_group(const runas *ra, gid_t gid)
{
	int i;

	for (i = 0; i < ra->ngroups; i++)
		if (ra->groups[i] == gid)
			return true;
	return false;
}

/* Fails unless the postgres user may search every directory from / down to `dir`. */
static int check_traversable(const runas *ra, const char *dir, hcr_error *err)
{
	char *p = realpath(dir, NULL), *s;
	int rc = HCR_OK;

	if (!p)
		return sys_error(err, "resolve path", dir);
	for (s = p;; s++) {
		char c = *s;
		struct stat st;
		mode_t bit;

		if (c != '/' && c != '\0')
			continue;
		*s = '\0';
		if (stat(p[0] ? p : "/", &st) != 0) {
			rc = sys_error(err, "stat", p[0] ? p : "/");
			goto done;
		}
		bit = st.st_uid == ra->uid            ? S_IXUSR
		      : runas_in_group(ra, st.st_gid) ? S_IXGRP
						      : S_IXOTH;
		if (!(st.st_mode & bit)) {
			hcr_error_set(err, HCR_ERROR, HCR_ERR_CONFIG,
				      "the postgres user cannot reach \"%s\"", p[0] ? p : "/");
			hcr_error_detail(err,
					 "hcr runs as root, so PostgreSQL runs as the postgres "
					 "user, which needs search permission on every "
					 "directory above its data");
			hcr_error_hint(err,
				       "run chmod o+x \"%s\", or set data_dir to a directory "
				       "the postgres user can reach",
				       p[0] ? p : "/");
			rc = HCR_ERROR;
			goto done;
		}
		*s = c;
		if (c == '\0')
			break;
	}
done:
	free(p);
	return rc;
}

static int give_to(const runas *ra, const char *path, hcr_error *err)
{
	if (ra->drop && chown(path, ra->uid, ra->gid) != 0)
		return sys_error(err, "change owner of", path);
	return HCR_OK;
}

/*
 * Between fork and exec only async-signal-safe calls: everything the child
 * needs was prepared by the parent. Never returns.
 */
static void exec_child(const runas *ra, const char *cwd, int log_fd, char *const argv[])
{
	int null_fd = open("/dev/null", O_RDONLY);
	struct sigaction dfl;
	sigset_t none;
	int sig;

	setsid();
	/* Dispositions and the mask survive exec: give the server a clean slate. */
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0 || dup2(log_fd, STDOUT_FILENO) < 0 ||
	    dup2(log_fd, STDERR_FILENO) < 0)
		_exit(126);
	/* Keep hcr's sockets and files out of the server. */
	if (close_range(3, ~0U, 0) != 0)
		for (sig = 3; sig < 1024; sig++)
			close(sig);
	if (ra->drop && (setgroups((size_t)ra->ngroups, ra->groups) != 0 || setgid(ra->gid) != 0 ||
			 setuid(ra->uid) != 0))
		_exit(126);
	/*
	 * If hcr dies without stopping it (a crash, SIGKILL), the server gets a fast
	 * shutdown instead of living on as an orphan that blocks the next start.
	 * Set after the uid change, which would clear it.
	 */
	if (prctl(PR_SET_PDEATHSIG, SIGINT) != 0 || getppid() == 1)
		_exit(125);
	/* initdb resolves its own path relative to the working directory. */
	if (chdir(cwd) != 0)
		_exit(126);
	execv(argv[0], argv);
	_exit(127);
}

static pid_t spawn(const runas *ra, const char *cwd, int log_fd, char *const argv[], hcr_error *err)
{
	pid_t pid = fork();

	if (pid < 0) {
		sys_error(err, "start", argv[0]);
		return -1;
	}
	if (pid == 0)
		exec_child(ra, cwd, log_fd, argv);
	return pid;
}

/*
 * The last LOG_TAIL_LINES lines written to the server log since offset
 * `since` (this attempt's output only), as many as fit into err->detail.
 */
static void detail_log_tail(hcr_error *err, const char *log_path, off_t since)
{
	char buf[8192];
	int fd = open(log_path, O_RDONLY | O_CLOEXEC);
	off_t end, from;
	ssize_t n;
	char *start, *first;
	int lines = 0;

	if (!err || fd < 0)
		goto done;
	end = lseek(fd, 0, SEEK_END);
	from = end - since > (off_t)sizeof(buf) - 1 ? end - ((off_t)sizeof(buf) - 1) : since;
	if (end < 0 || lseek(fd, from, SEEK_SET) < 0)
		goto done;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0) {
		hcr_error_detail(err, "nothing was written to %s", log_path);
		goto done;
	}
	buf[n] = '\0';
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	/* Walk back line by line while the tail still fits; a cut first line does not count. */
	first = buf;
	if (from > since && strchr(buf, '\n'))
		first = strchr(buf, '\n') + 1;
	start = buf + n;
	while (start > first && lines < LOG_TAIL_LINES) {
		char *p = start - 1;

		while (p > first && p[-1] != '\n')
			p--;
		if (buf + n - p >= (long)sizeof(err->detail) - 32 && lines > 0)
			break;
		start = p;
		lines++;
	}
	hcr_error_detail(err, "last lines of %s:\n%s", log_path, start);
done:
	if (fd >= 0)
		close(fd);
}

/* Runs initdb into `data` and waits for it. */
static int run_initdb(const runas *ra, const char *bindir, const char *dir, const char *data,
		      int log_fd, const char *log_path, hcr_error *err)
{
	off_t since = lseek(log_fd, 0, SEEK_END);
	char *initdb = hcr_sprintf("%s/initdb", bindir);
	char *argv[] = {
		initdb, "-D",         (char *)data,        "-U", "hcr", "--auth=trust", "-E",
		"UTF8", "--locale=C", "--no-instructions", NULL};
	int status, rc = HCR_ERROR;
	char quoted[PATH_MAX + 16];
	pid_t pid;

	hcr_log_info("pgembed", "initialising database cluster data=%s",
		     hcr_log_quote(quoted, sizeof(quoted), data));
	pid = spawn(ra, dir, log_fd, argv, err);
	if (pid < 0)
		goto done;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			sys_error(err, "wait for", initdb);
			goto done;
		}
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		hcr_error_set(err, HCR_ERROR, HCR_ERR_INTERNAL, "initdb failed on \"%s\"", data);
		detail_log_tail(err, log_path, since);
		hcr_error_hint(err, "remove \"%s\" if it is a broken, half-initialised cluster",
			       data);
		goto done;
	}
	rc = HCR_OK;
done:
	free(initdb);
	return rc;
}

/* Fails when data/postmaster.pid names a live process. */
static int check_not_running(const char *dir, const char *data, hcr_error *err)
{
	char *path = hcr_sprintf("%s/postmaster.pid", data);
	FILE *f = fopen(path, "re");
	long pid = 0;
	int rc = HCR_OK;

	if (f) {
		/*
		 * Like PostgreSQL itself, a pid that is ours or our parent's is
		 * stale: in a restarted container the numbers repeat.
		 */
		if (fscanf(f, "%ld", &pid) == 1 && pid > 0 && pid <= INT_MAX &&
		    pid != (long)getpid() && pid != (long)getppid() &&
		    (kill((pid_t)pid, 0) == 0 || errno == EPERM)) {
			hcr_error_set(err, HCR_ERROR, HCR_ERR_INTERNAL,
				      "PostgreSQL is already running on \"%s\" (pid %ld)", dir,
				      pid);
			hcr_error_hint(err, "another hcr may be using this data directory; stop it "
					    "or set another data_dir");
			rc = HCR_ERROR;
		}
		fclose(f);
	}
	free(path);
	return rc;
}

/* The socket directory: dir/run, or a private /tmp directory when that path is too long. */
static int make_run_dir(hcr_pgembed *pg, const runas *ra, hcr_error *err)
{
	struct sockaddr_un sun;
	char *run = hcr_sprintf("%s/run", pg->dir);

	if (strlen(run) + 1 + strlen(SOCKET_NAME) < sizeof(sun.sun_path)) {
		pg->run = run;
		if (mkdir(run, 0700) != 0 && errno != EEXIST)
			return sys_error(err, "create directory", run);
		if (chmod(run, 0700) != 0)
			return sys_error(err, "change mode of", run);
	} else {
		char tmpl[] = "/tmp/hcr-pg-XXXXXX";

		free(run);
		if (!mkdtemp(tmpl))
			return sys_error(err, "create directory", tmpl);
		pg->run = hcr_strdup(tmpl);
		pg->run_private = true;
	}
	return give_to(ra, pg->run, err);
}

static void remove_private_run(hcr_pgembed *pg)
{
	char *p;

	if (!pg->run_private)
		return;
	/* Left behind only when the server did not shut down cleanly. */
	p = hcr_sprintf("%s/" SOCKET_NAME, pg->run);
	unlink(p);
	free(p);
	p = hcr_sprintf("%s/" SOCKET_NAME ".lock", pg->run);
	unlink(p);
	free(p);
	rmdir(pg->run);
}

/* Polls until the server answers, or fails if it exits first or takes too long. */
static int wait_ready(hcr_pgembed *pg, const char *log_path, off_t since, hcr_error *err)
{
	int waited, status;

	for (waited = 0; waited < START_TIMEOUT_MS; waited += 50) {
		pid_t r = waitpid(pg->pid, &status, WNOHANG);

		if (r == pg->pid) {
			pg->pid = -1;
			hcr_error_set(err, HCR_ERROR, HCR_ERR_INTERNAL,
				      "PostgreSQL exited during start-up on \"%s\"", pg->dir);
			detail_log_tail(err, log_path, since);
			hcr_error_hint(err, "the server's whole log is in \"%s\"", log_path);
			return HCR_ERROR;
		}
		if (PQping(pg->conninfo) == PQPING_OK)
			return HCR_OK;
		sleep_ms(50);
	}
	hcr_error_set(err, HCR_ERROR, HCR_ERR_INTERNAL,
		      "PostgreSQL did not accept connections within %d s", START_TIMEOUT_MS / 1000);
	detail_log_tail(err, log_path, since);
	return HCR_ERROR;
}

static int create_database(hcr_pgembed *pg, hcr_error *err)
{
	char *ci = make_conninfo(pg->run, "postgres");
	PGconn *conn = PQconnectdb(ci);
	PGresult *res = NULL;
	int rc = HCR_ERROR;

	if (PQstatus(conn) != CONNECTION_OK) {
		hcr_error_set(err, HCR_ERROR, HCR_ERR_INTERNAL,
			      "could not connect to the embedded PostgreSQL");
		hcr_error_detail(err, "%s", PQerrorMessage(conn));
		goto done;
	}
	res = PQexec(conn, "SELECT 1 FROM pg_database WHERE datname = 'hcr'");
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		goto fail;
	if (PQntuples(res) == 0) {
		PQclear(res);
		res = PQexec(conn, "CREATE DATABASE hcr");
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

			if (!state || strcmp(state, "42P04") != 0) /* duplicate_database */
				goto fail;
		}
		hcr_log_info("pgembed", "created database name=hcr");
	}
	rc = HCR_OK;
	goto done;
fail:
	hcr_error_set(err, HCR_ERROR, HCR_ERR_INTERNAL, "could not create database \"hcr\"");
	hcr_error_detail(err, "%s", PQerrorMessage(conn));
done:
	if (err && rc != HCR_OK)
		err->detail[strcspn(err->detail, "\n")] = '\0';
	PQclear(res);
	PQfinish(conn);
	free(ci);
	return rc;
}

/* unix_socket_directories is a list: the entry goes in double quotes, "" for a quote. */
static char *socket_dirs_setting(const char *run)
{
	hcr_buf b = {0};

	hcr_buf_puts(&b, "unix_socket_directories=\"");
	for (; *run; run++) {
		if (*run == '"')
			hcr_buf_puts(&b, "\"");
		hcr_buf_append(&b, run, 1);
	}
	hcr_buf_puts(&b, "\"");
	return b.data;
}

static void free_pg(hcr_pgembed *pg)
{
	free(pg->dir);
	free(pg->run);
	free(pg->conninfo);
	free(pg);
}

/* Starts the postmaster and waits until it answers. */
static int spawn_server(hcr_pgembed *pg, const runas *ra, const char *bindir, const char *data,
			int log_fd, const char *log_path, hcr_error *err)
{
	static char port_setting[] = "port=" PG_PORT;
	char *postgres = hcr_sprintf("%s/postgres", bindir);
	char *sockdirs = socket_dirs_setting(pg->run);
	char *argv[] = {postgres,
			"-D",
			(char *)data,
			"-c",
			"listen_addresses=",
			"-c",
			sockdirs,
			"-c",
			"unix_socket_permissions=0700",
			"-c",
			port_setting,
			NULL};
	off_t since = lseek(log_fd, 0, SEEK_END);
	int rc = HCR_ERROR;

	pg->pid = spawn(ra, pg->dir, log_fd, argv, err);
	if (pg->pid < 0)
		goto done;
	pg->conninfo = make_conninfo(pg->run, "hcr");
	rc = wait_ready(pg, log_path, since, err);
done:
	free(postgres);
	free(sockdirs);
	return rc;
}

int hcr_pgembed_start(hcr_pgembed **out, const char *dir, const char *bin_dir, hcr_error *err)
{
	hcr_pgembed *pg = hcr_calloc(1, sizeof(*pg));
	char bindir[PATH_MAX], pgversion[PATH_MAX + 16], quoted[PATH_MAX + 16];
	char *data = NULL, *log_path = NULL;
	int log_fd = -1, rc = HCR_ERROR;
	runas ra;

	*out = NULL;
	pg->pid = -1;
	if (hcr_pgembed_find_bindir(bindir, sizeof(bindir), bin_dir, err) != HCR_OK ||
	    lookup_postgres(&ra, err) != HCR_OK)
		goto done;
	if (mkdir_p(dir, ra.drop ? 0755 : 0700, err) != HCR_OK)
		goto done;
	pg->dir = realpath(dir, NULL);
	if (!pg->dir) {
		sys_error(err, "resolve path", dir);
		goto done;
	}
	if (ra.drop && check_traversable(&ra, pg->dir, err) != HCR_OK)
		goto done;
	data = hcr_sprintf("%s/data", pg->dir);
	log_path = hcr_sprintf("%s/postgres.log", pg->dir);
	if (check_not_running(pg->dir, data, err) != HCR_OK)
		goto done;
	if (mkdir(data, 0700) != 0 && errno != EEXIST) {
		sys_error(err, "create directory", data);
		goto done;
	}
	log_fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (log_fd < 0) {
		sys_error(err, "open", log_path);
		goto done;
	}
	if (give_to(&ra, data, err) != HCR_OK || give_to(&ra, log_path, err) != HCR_OK ||
	    make_run_dir(pg, &ra, err) != HCR_OK)
		goto done;
	snprintf(pgversion, sizeof(pgversion), "%s/PG_VERSION", data);
	if (access(pgversion, F_OK) != 0 &&
	    run_initdb(&ra, bindir, pg->dir, data, log_fd, log_path, err) != HCR_OK)
		goto done;

	if (spawn_server(pg, &ra, bindir, data, log_fd, log_path, err) != HCR_OK ||
	    create_database(pg, err) != HCR_OK)
		goto done;
	hcr_log_info("pgembed", "started pid=%ld dir=%s", (long)pg->pid,
		     hcr_log_quote(quoted, sizeof(quoted), pg->dir));
	*out = pg;
	pg = NULL;
	rc = HCR_OK;
done:
	if (pg) {
		if (pg->pid > 0)
			hcr_pgembed_stop(pg);
		else {
			remove_private_run(pg);
			free_pg(pg);
		}
	}
	if (log_fd >= 0)
		close(log_fd);
	free(data);
	free(log_path);
	return rc;
}

const char *hcr_pgembed_conninfo(const hcr_pgembed *pg)
{
	return pg->conninfo;
}

pid_t hcr_pgembed_pid(const hcr_pgembed *pg)
{
	return pg->pid;
}

/* Waits up to `ms` (< 0: for ever) for the server to exit; true when it has (and is reaped). */
static bool wait_exit(pid_t pid, long ms)
{
	long waited;
	int status;

	for (waited = 0;; waited += 20) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return true;
		/* Someone else reaped it (a SIGCHLD handler): fall back to kill(0). */
		if (r < 0 && errno == ECHILD && kill(pid, 0) != 0 && errno == ESRCH)
			return true;
		if (ms >= 0 && waited >= ms)
			return false;
		sleep_ms(20);
	}
}

void hcr_pgembed_stop(hcr_pgembed *pg)
{
	if (!pg)
		return;
	if (pg->pid > 0) {
		/* SIGINT is PostgreSQL's fast shutdown; SIGQUIT its immediate one. */
		kill(pg->pid, SIGINT);
		if (!wait_exit(pg->pid, STOP_TIMEOUT_MS)) {
			hcr_log_warn("pgembed", "fast shutdown timed out, sending SIGQUIT pid=%ld",
				     (long)pg->pid);
			kill(pg->pid, SIGQUIT);
			if (!wait_exit(pg->pid, QUIT_TIMEOUT_MS)) {
				kill(pg->pid, SIGKILL);
				wait_exit(pg->pid, -1);
			}
		}
		hcr_log_info("pgembed", "stopped pid=%ld", (long)pg->pid);
	}
	remove_private_run(pg);
	free_pg(pg);
}
