#!/usr/bin/env bash
# Make sure the test servers run and hold the base test databases:
#   PostgreSQL on 127.0.0.1:5432, user postgres, no password (trust on local TCP)
#   MariaDB    on 127.0.0.1:3306, user root, empty password
# Also makes sure the sqlite3 shell is installed (vinyl-sqlite's dbshell test runs it), and
# pgbouncer (vinyl-pg's PgBouncer tests start their own, never a system service), Debian's
# chromium (the bookshop's browser test drives /usr/bin/chromium through Playwright), and what
# building mysqlclient needs (the django61 resolve has it).
# Starts a server that is installed but stopped; installs one that is missing from Debian's
# packages (needs root); then creates the database vinyl_test on both, and lets both servers
# commit without waiting for the disk (see no_commit_wait). Idempotent, and quiet when all is
# well. The tests' VINYL_PG_* / VINYL_MYSQL_* variables point elsewhere if needed;
# this script only manages the local servers.
set -euo pipefail

TEST_DATABASE="vinyl_test"
WAIT_SECONDS=60

log() { echo "services: $*" >&2; }
fail() { log "$*"; exit 1; }

APT_UPDATED=""
apt_install() {
  [[ "$(id -u)" == 0 ]] || fail "installing $* needs root (apt-get); run this script as root."
  log "installing $* from Debian's packages..."
  export DEBIAN_FRONTEND=noninteractive
  if [[ -z "$APT_UPDATED" ]]; then
    apt-get update -qq
    APT_UPDATED=1
  fi
  apt-get install -y -qq "$@" >/dev/null
}

# Wait until "$@" succeeds, or fail naming what did not come up.
wait_for() {
  local what="$1"
  shift
  local deadline=$((SECONDS + WAIT_SECONDS))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || fail "$what did not accept connections within ${WAIT_SECONDS}s."
    sleep 0.5
  done
}

# --- PostgreSQL --------------------------------------------------------------------------

pg_sql() { psql -w -h 127.0.0.1 -p 5432 -U postgres -d postgres -v ON_ERROR_STOP=1 -tAc "$1"; }
pg_accepts() { pg_sql "SELECT 1" | grep -qx 1; }

pg_cluster_version() { ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1; }

# Trust local TCP connections, so tests connect as postgres without a password.
pg_trust_local_tcp() {
  local hba="/etc/postgresql/$1/main/pg_hba.conf"
  grep -qE '^host\s+all\s+all\s+127\.0\.0\.1/32\s+trust' "$hba" && return 1
  log "PostgreSQL: trusting local TCP connections in $hba"
  # pg_hba.conf is read top-down and the first matching line wins: put ours first.
  printf '%s\n' "host all all 127.0.0.1/32 trust" "host all all ::1/128 trust" \
    | cat - "$hba" >"$hba.vinyl" && cat "$hba.vinyl" >"$hba" && rm "$hba.vinyl"
}

ensure_postgresql() {
  if ! command -v pg_ctlcluster >/dev/null || [[ -z "$(pg_cluster_version)" ]]; then
    apt_install postgresql postgresql-contrib
  fi
  local version
  version="$(pg_cluster_version)"
  [[ -n "$version" ]] || fail "PostgreSQL is installed but has no cluster under /etc/postgresql."
  if ! pg_accepts 2>/dev/null; then
    local reconfigured=""
    pg_trust_local_tcp "$version" && reconfigured=1
    if pg_lsclusters -h "$version" main 2>/dev/null | grep -q online; then
      if [[ -n "$reconfigured" ]]; then
        pg_ctlcluster --skip-systemctl-redirect "$version" main reload
      fi
    else
      log "PostgreSQL $version: starting"
      pg_ctlcluster --skip-systemctl-redirect "$version" main start
    fi
    wait_for "PostgreSQL on 127.0.0.1:5432" pg_accepts
  fi
  if ! pg_sql "SELECT 1 FROM pg_database WHERE datname = '$TEST_DATABASE'" | grep -qx 1; then
    log "PostgreSQL: creating database $TEST_DATABASE"
    pg_sql "CREATE DATABASE $TEST_DATABASE" >/dev/null
  fi
}

# --- MariaDB -----------------------------------------------------------------------------

MARIADB_CONF="/etc/mysql/mariadb.conf.d/99-vinyl.cnf"

mysql_tcp() { mariadb --protocol=TCP -h 127.0.0.1 -P 3306 -u root --skip-password -N -e "$1"; }
mysql_accepts() { mysql_tcp "SELECT 1" | grep -qx 1; }
# Through the socket, as the OS root: Debian's root@localhost authenticates by unix_socket.
mysql_socket() { mariadb -u root -N -e "$1"; }
mysql_socket_accepts() { mysql_socket "SELECT 1" | grep -qx 1; }

# `ping` succeeds whenever the server answers on its socket, even if it refuses our login.
mariadb_running() { mariadb-admin --silent ping >/dev/null 2>&1; }

start_mariadb() {
  log "MariaDB: starting"
  install -d -o mysql -g mysql /run/mysqld
  # No init system runs here: start the server directly; it drops to the mysql user itself.
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
  wait_for "MariaDB (socket)" mysql_socket_accepts
}

ensure_mariadb() {
  if ! command -v mariadbd >/dev/null && [[ ! -x /usr/sbin/mariadbd ]]; then
    apt_install mariadb-server
  fi
  if ! mysql_accepts 2>/dev/null; then
    # Listen on 127.0.0.1:3306 and match clients by address, so root@127.0.0.1 applies to TCP.
    if [[ ! -f "$MARIADB_CONF" ]] && [[ -d "$(dirname "$MARIADB_CONF")" ]] \
      && ! grep -rqs '^skip-name-resolve' /etc/mysql/; then
      log "MariaDB: writing $MARIADB_CONF"
      printf '%s\n' "[mysqld]" "bind-address = 127.0.0.1" "port = 3306" "skip-name-resolve" \
        >"$MARIADB_CONF"
      if mariadb_running; then
        log "MariaDB: restarting to apply it"
        mariadb-admin -u root shutdown
        wait_for "MariaDB shutdown" bash -c '! mariadb-admin --silent ping'
      fi
    fi
    mariadb_running || start_mariadb
    wait_for "MariaDB (socket)" mysql_socket_accepts
    log "MariaDB: letting root connect from 127.0.0.1 with an empty password"
    mysql_socket "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';
                  GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;"
    wait_for "MariaDB on 127.0.0.1:3306" mysql_accepts
  fi
  if [[ -z "$(mysql_tcp "SHOW DATABASES LIKE '$TEST_DATABASE'")" ]]; then
    log "MariaDB: creating database $TEST_DATABASE"
    mysql_tcp "CREATE DATABASE $TEST_DATABASE CHARACTER SET utf8mb4"
  fi
}

# --- Commits that do not wait for the disk ------------------------------------------------

# What Django's docs advise for a test database server: a commit returns before its log
# reaches the disk (PostgreSQL's synchronous_commit, InnoDB's innodb_flush_log_at_trx_commit).
# The tests commit after nearly every statement (each write suite resets and reseeds its
# tables for every scenario): waiting ~4 ms for the disk at each commit was most of their
# time. Nothing else changes: a crash of the machine could lose the last second of commits,
# which test data can afford. PostgreSQL keeps the setting (ALTER SYSTEM); MariaDB's lasts
# until it restarts, and this script sets it again on each run.
no_commit_wait() {
  if [[ "$(pg_sql "SHOW synchronous_commit")" != "off" ]]; then
    log "PostgreSQL: synchronous_commit = off"
    pg_sql "ALTER SYSTEM SET synchronous_commit = off" >/dev/null
    pg_sql "SELECT pg_reload_conf()" >/dev/null
  fi
  if [[ "$(mysql_tcp "SELECT @@GLOBAL.innodb_flush_log_at_trx_commit")" != "2" ]]; then
    log "MariaDB: innodb_flush_log_at_trx_commit = 2"
    mysql_tcp "SET GLOBAL innodb_flush_log_at_trx_commit = 2"
  fi
}

# --- MariaDB: new tables in the system tablespace -----------------------------------------

# The test suites restart a table's key counter between tests (and the Django test runner's
# flush does too) with TRUNCATE, which on MariaDB's default (a file per table) drops and
# creates the table's .ibd file: about 15 ms a table on these machines, against 0.5 ms for
# a table in the system tablespace, and most of the MariaDB test time. So tables created
# from now on (the suites create their databases at each run) go to the system tablespace.
# Rows, keys and locks are InnoDB's either way; what differs is only where the pages are
# kept, and that ibdata1 does not shrink when a table is dropped (test data is small). Set
# at each run, as it lasts until the server restarts.
tables_in_system_tablespace() {
  if [[ "$(mysql_tcp "SELECT @@GLOBAL.innodb_file_per_table")" != "0" ]]; then
    log "MariaDB: innodb_file_per_table = OFF"
    mysql_tcp "SET GLOBAL innodb_file_per_table = OFF"
  fi
}

# --- SQLite -------------------------------------------------------------------------------

# No server: vinyl-sqlite's tests need only the sqlite3 shell, which `manage.py dbshell` runs.
ensure_sqlite_shell() {
  command -v sqlite3 >/dev/null || apt_install sqlite3
}

# --- PgBouncer ----------------------------------------------------------------------------

# vinyl-pg's tests run /usr/sbin/pgbouncer themselves, on ports of their own. Debian's package
# starts a service on 6432 when installed: a policy-rc.d that forbids it keeps it stopped.
ensure_pgbouncer() {
  [[ -x /usr/sbin/pgbouncer ]] && return
  local policy="/usr/sbin/policy-rc.d"
  if [[ -e "$policy" ]]; then
    apt_install pgbouncer
  else
    printf '%s\n' '#!/bin/sh' 'exit 101' >"$policy"
    chmod +x "$policy"
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    apt_install pgbouncer
    rm -f "$policy"
    trap - EXIT
  fi
}

# --- Chromium -----------------------------------------------------------------------------

# The bookshop's browser test (examples/bookshop/test_bookshop.py) drives Debian's chromium with
# Playwright (executable_path=/usr/bin/chromium): no browser comes from `playwright install`.
ensure_chromium() {
  [[ -x /usr/bin/chromium ]] || apt_install chromium
}

# The django61 test resolve has mysqlclient (Django's recommended MySQL driver), which has no
# Linux wheel: Pants builds it from its sdist against Debian's libmariadb-dev, found with
# pkg-config (gcc comes with the machine).
ensure_mysqlclient_build() {
  local missing=()
  command -v pkg-config >/dev/null || missing+=(pkg-config)
  pkg-config --exists libmariadb 2>/dev/null || missing+=(libmariadb-dev)
  [[ ${#missing[@]} -eq 0 ]] || apt_install "${missing[@]}"
}

ensure_postgresql
ensure_mariadb
no_commit_wait
tables_in_system_tablespace
ensure_sqlite_shell
ensure_pgbouncer
ensure_chromium
ensure_mysqlclient_build
