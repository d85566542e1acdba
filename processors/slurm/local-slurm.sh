#!/usr/bin/env bash
# A one-node SLURM cluster (with munge) on this machine, for the `slurm` tests and benchmarks/slurm.py.
#
#   processors/slurm/local-slurm.sh start    install (apt-get, once), configure, start; wait until the node is idle
#   processors/slurm/local-slurm.sh stop     stop slurmd, slurmctld and munged (started by this script)
#   processors/slurm/local-slurm.sh status   sinfo, or exit 1 when SLURM is not up
#
# Needs root and Debian/Ubuntu packages (slurmctld, slurmd, slurm-client, munge). No systemd: the daemons run
# directly (containers have no init system). Idempotent: `start` on a running cluster only checks it.
# Sizing: CPUs = nproc, memory = MemTotal minus a margin (SLURM_MEM_MARGIN_MB, default 1024 MB, or 10 % when
# larger), one partition `debug` (default) with MaxTime SLURM_MAX_TIME (default 04:00:00).
set -euo pipefail

CONF_DIR=/etc/slurm
CONF="$CONF_DIR/slurm.conf"
STATE_DIR=/var/lib/slurm
LOG_DIR=/var/log/slurm
RUN_DIR=/run/slurm
PARTITION="${SLURM_PARTITION:-debug}"
MAX_TIME="${SLURM_MAX_TIME:-04:00:00}"
MARGIN_MB="${SLURM_MEM_MARGIN_MB:-1024}"
WAIT_S="${SLURM_WAIT_S:-60}"

log() { echo "local-slurm: $*" >&2; }

need_root() {
    if [[ $(id -u) -ne 0 ]]; then
        log "must run as root (installs packages, writes $CONF, starts daemons)"
        exit 2
    fi
}

install_packages() {
    local missing=()
    for cmd in slurmctld slurmd sinfo munged; do
        command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd")
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    log "installing slurmctld slurmd slurm-client munge (missing: ${missing[*]})"
    export DEBIAN_FRONTEND=noninteractive
    # No init system: keep the packages' maintainer scripts from starting services (exit 101 = "not allowed").
    local policy=/usr/sbin/policy-rc.d created_policy=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && created_policy=1
    fi
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
    [[ $created_policy -eq 1 ]] && rm -f "$policy"
    return 0
}

node_name() { hostname -s; }

memory_mb() {
    local total_kb total_mb margin
    total_kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
    total_mb=$((total_kb / 1024))
    margin=$((total_mb / 10 > MARGIN_MB ? total_mb / 10 : MARGIN_MB))
    echo $((total_mb - margin))
}

write_config() {
    local node cpus mem
    node=$(node_name)
    cpus=$(nproc)
    mem=$(memory_mb)
    mkdir -p "$CONF_DIR" "$STATE_DIR/slurmctld" "$STATE_DIR/slurmd" "$LOG_DIR" "$RUN_DIR"
    chown -R slurm:slurm "$STATE_DIR" "$LOG_DIR" "$RUN_DIR" 2>/dev/null || true
    local new
    new=$(mktemp)
    cat >"$new" <<CONF
# Written by processors/slurm/local-slurm.sh: a one-node cluster on $node.
ClusterName=columnminer
SlurmctldHost=$node
SlurmUser=slurm
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
# Containers: no cgroups, no systemd.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
StateSaveLocation=$STATE_DIR/slurmctld
SlurmdSpoolDir=$STATE_DIR/slurmd
SlurmctldPidFile=$RUN_DIR/slurmctld.pid
SlurmdPidFile=$RUN_DIR/slurmd.pid
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
# Keep finished jobs' records an hour, so that their state (TIMEOUT, CANCELLED) can still be asked for.
MinJobAge=3600
KillWait=5
Waittime=0
SchedulerParameters=sched_interval=2
NodeName=$node CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=$PARTITION Nodes=$node Default=YES MaxTime=$MAX_TIME State=UP
CONF
    if ! cmp -s "$new" "$CONF"; then
        mv "$new" "$CONF"
        chmod 644 "$CONF"
        log "wrote $CONF ($cpus CPUs, $mem MB, partition $PARTITION, MaxTime $MAX_TIME)"
        if running slurmctld; then  # a cluster already up takes the new settings
            scontrol reconfigure || true
        fi
        return 0
    fi
    rm -f "$new"
    return 0
}

running() { pgrep -x "$1" >/dev/null 2>&1; }

start_munge() {
    if [[ ! -s /etc/munge/munge.key ]]; then
        mkdir -p /etc/munge
        if command -v mungekey >/dev/null 2>&1; then
            mungekey --create --keyfile=/etc/munge/munge.key
        else
            dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
        fi
    fi
    mkdir -p /run/munge /var/lib/munge /var/log/munge
    chown munge:munge /etc/munge /etc/munge/munge.key /run/munge /var/lib/munge /var/log/munge
    chmod 0700 /etc/munge
    chmod 0400 /etc/munge/munge.key
    chmod 0755 /run/munge
    if ! running munged; then
        runuser -u munge -- /usr/sbin/munged
    fi
    munge -n | unmunge >/dev/null
}

start_slurm() {
    if ! running slurmctld; then
        slurmctld
    fi
    if ! running slurmd; then
        slurmd
    fi
}

wait_idle() {
    local node state deadline=$((SECONDS + WAIT_S))
    node=$(node_name)
    while ((SECONDS < deadline)); do
        state=$(sinfo -h -n "$node" -o '%t' 2>/dev/null | head -n1 || true)
        case "$state" in
        idle | mix | alloc) log "node $node is $state"; sinfo; return 0 ;;
        down* | drain* | inval*) scontrol update NodeName="$node" State=RESUME >/dev/null 2>&1 || true ;;
        esac
        sleep 1
    done
    log "node $node not idle after ${WAIT_S} s (state: ${state:-none}); see $LOG_DIR"
    tail -n 20 "$LOG_DIR/slurmctld.log" "$LOG_DIR/slurmd.log" >&2 || true
    return 1
}

stop_daemon() {
    local name=$1 pidfile=$2 pid
    pid=$(cat "$pidfile" 2>/dev/null || pgrep -x "$name" | head -n1 || true)
    [[ -z $pid ]] && return 0
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.2
    done
    kill -9 "$pid" 2>/dev/null || true
}

cmd_start() {
    need_root
    install_packages
    local before after
    before=$(cat "$CONF" 2>/dev/null || true)
    write_config
    after=$(cat "$CONF")
    start_munge
    if [[ "$before" != "$after" ]] && running slurmctld; then
        log "configuration changed: reconfiguring"
        scontrol reconfigure || true
    fi
    start_slurm
    wait_idle
}

cmd_stop() {
    need_root
    if command -v scancel >/dev/null 2>&1 && running slurmctld; then
        scancel --full --quiet --user=root 2>/dev/null || true
    fi
    stop_daemon slurmd "$RUN_DIR/slurmd.pid"
    stop_daemon slurmctld "$RUN_DIR/slurmctld.pid"
    stop_daemon munged /run/munge/munged.pid
    log "stopped"
}

cmd_status() {
    if running slurmctld && running slurmd && sinfo >/dev/null 2>&1; then
        sinfo
        return 0
    fi
    log "SLURM is not up"
    return 1
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
*)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
