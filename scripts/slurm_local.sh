#!/usr/bin/env bash
# A real one-node SLURM cluster on this machine, from Debian's packages, for the workflow's
# cluster tests (tests/test_slurm.py) and for trying the README's cluster section by hand.
#
#   sudo bash scripts/slurm_local.sh install      # munge, slurmctld, slurmd, slurmdbd, MariaDB (apt)
#   sudo bash scripts/slurm_local.sh start DIR    # start every daemon, all state under DIR
#   sbatch, sacct, snakemake --profile profiles/slurm ...
#   sudo bash scripts/slurm_local.sh stop DIR     # stop the daemons it started, by their PIDs
#
# The cluster: one node (this machine's CPUs and memory, no GPUs), one partition `cpu` with a
# 24-hour limit, accounting through slurmdbd on MariaDB (sacct works, as on a real cluster),
# an account `act` holding the user who started it. Loopback only; ports from 16817 (override
# with ACT_SLURM_PORT). No cgroups needed: proctrack/linuxproc, task/none. Needs root (the daemons
# run as root, munged as its own user). Its slurm.conf and slurmdbd.conf go where a real node keeps
# them, /etc/slurm/ (SLURM_CONF elsewhere would not do: Snakemake's job-step plugin drops every
# SLURM_* variable inside a job, and srun there finds no config); `start` refuses to replace ones it
# did not write, `stop` removes its own.
set -euo pipefail

PKGS=(munge slurm-wlm slurmdbd mariadb-server)
ETC=/etc/slurm

die() { echo "slurm_local.sh: $*" >&2; exit 2; }

install_packages() {
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends "${PKGS[@]}" >/dev/null
    echo "installed: ${PKGS[*]}"
}

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...: poll until COMMAND succeeds
    local secs=$1 what=$2; shift 2
    local end=$((SECONDS + secs))
    while [ $SECONDS -lt $end ]; do timeout 5 "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
    die "$what did not come up in ${secs}s (logs in $DIR)"
}

start() {
    for b in munged mariadbd slurmdbd slurmctld slurmd sacctmgr; do
        command -v "$b" >/dev/null || die "$b not found: run 'sudo bash scripts/slurm_local.sh install' first"
    done
    mkdir -p "$DIR"
    DIR=$(cd "$DIR" && pwd)
    local mark="# written by act-bench scripts/slurm_local.sh, state in $DIR"
    if [ -e "$ETC/slurm.conf" ]; then
        head -1 "$ETC/slurm.conf" | grep -q "^# written by act-bench" \
            || die "$ETC/slurm.conf exists and is not this script's: this machine has a cluster already"
        die "a local cluster runs already ($(head -1 "$ETC/slurm.conf" | sed 's/.*state in //')): stop it first"
    fi
    local port=${ACT_SLURM_PORT:-16817} host cpus mem user
    host=$(hostname -s)
    cpus=$(nproc)
    mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 * 9 / 10 ))
    user=${SUDO_USER:-$(id -un)}
    mkdir -p "$DIR"/{mysql,ctld,spool,logs}

    # munge at its standard socket (slurm's clients look there whatever AuthInfo says): one already
    # running is used as it is, else started here as the munge user (munged refuses root)
    if ! munge -n </dev/null >/dev/null 2>&1; then
        install -d -o munge -g munge -m 755 /run/munge
        runuser -u munge -- munged --pid-file=/run/munge/act-bench.pid --log-file=/run/munge/act-bench.log
        wait_for 10 munged munge -n
        mv /run/munge/act-bench.pid "$DIR/munged.pid"
    fi

    # MariaDB on loopback, its data in DIR
    mariadb-install-db --user=root --datadir="$DIR/mysql" --auth-root-authentication-method=normal \
        >"$DIR/logs/mariadb-install.log" 2>&1
    mariadbd --user=root --datadir="$DIR/mysql" --socket="$DIR/mysql.sock" --port=$((port + 3)) \
        --bind-address=127.0.0.1 --pid-file="$DIR/mariadbd.pid" --log-error="$DIR/logs/mariadb.log" \
        >>"$DIR/logs/mariadb.log" 2>&1 &
    wait_for 30 MariaDB mariadb --socket="$DIR/mysql.sock" -u root -e "SELECT 1"
    mariadb --socket="$DIR/mysql.sock" -u root -e "CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'slurm';
        GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1'; FLUSH PRIVILEGES;"

    mkdir -p "$ETC"
    cat >"$ETC/slurmdbd.conf" <<EOF
$mark
AuthType=auth/munge
DbdHost=localhost
DbdPort=$((port + 2))
SlurmUser=root
PidFile=$DIR/slurmdbd.pid
LogFile=$DIR/logs/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$((port + 3))
StorageUser=slurm
StoragePass=slurm
StorageLoc=slurm_acct_db
EOF
    chmod 600 "$ETC/slurmdbd.conf"
    cat >"$ETC/slurm.conf" <<EOF
$mark
ClusterName=actlocal
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$DIR/ctld
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/logs/slurmctld.log
SlurmdLogFile=$DIR/logs/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=$((port + 2))
AccountingStorageEnforce=associations
JobAcctGatherType=jobacct_gather/linux
JobCompType=jobcomp/none
KillWait=30
MinJobAge=600
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=cpu Nodes=$host Default=YES MaxTime=24:00:00 State=UP
EOF
    slurmdbd
    wait_for 30 slurmdbd sacctmgr -n show cluster
    sacctmgr -i add cluster actlocal >/dev/null
    sacctmgr -i add account act Description=act-bench Organization=act-bench >/dev/null
    sacctmgr -i add user "$user" account=act DefaultAccount=act >/dev/null
    slurmctld
    slurmd
    wait_for 30 "node $host" bash -c "sinfo -h -N -o %t | grep -qx idle"
    echo "SLURM up: account act, partition cpu (24 h), node $host with $cpus CPUs and $mem MB, state in $DIR"
}

stop() {
    if [ -d "$DIR" ]; then DIR=$(cd "$DIR" && pwd); else echo "slurm_local.sh: $DIR is gone: no PIDs to stop" >&2; fi
    local f pid
    for f in slurmd slurmctld slurmdbd mariadbd munged; do
        [ -e "$DIR/$f.pid" ] || continue
        pid=$(cat "$DIR/$f.pid")
        if kill "$pid" 2>/dev/null; then
            for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -9 "$pid" 2>/dev/null || true
        fi
        rm -f "$DIR/$f.pid"
    done
    for f in slurm.conf slurmdbd.conf; do
        head -1 "$ETC/$f" 2>/dev/null | grep -qx "# written by act-bench scripts/slurm_local.sh, state in $DIR" \
            && rm -f "$ETC/$f"
    done
    echo "SLURM in $DIR stopped"
}

case "${1:-}" in
    install) install_packages ;;
    start) DIR=${2:?usage: slurm_local.sh start DIR}; start ;;
    stop) DIR=${2:?usage: slurm_local.sh stop DIR}; stop ;;
    *) die "usage: slurm_local.sh install | start DIR | stop DIR" ;;
esac
