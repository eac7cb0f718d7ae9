# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_virtdiag_global_optspecs
    string join \n log-level= h/help V/version
end

function __fish_virtdiag_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_virtdiag_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_virtdiag_using_subcommand
    set -l cmd (__fish_virtdiag_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c virtdiag -n "__fish_virtdiag_needs_command" -l log-level -d 'Most verbose log level on stderr: error, warning, info or debug' -r
complete -c virtdiag -n "__fish_virtdiag_needs_command" -s h -l help -d 'Print help'
complete -c virtdiag -n "__fish_virtdiag_needs_command" -s V -l version -d 'Print version'
complete -c virtdiag -n "__fish_virtdiag_needs_command" -f -a "run" -d 'Run the agent: collect every interval, append to the spool, answer on the socket'
complete -c virtdiag -n "__fish_virtdiag_needs_command" -f -a "check-config" -d 'Validate the configuration and print the effective one (exit 78 if it is bad)'
complete -c virtdiag -n "__fish_virtdiag_needs_command" -f -a "query" -d 'Ask a running agent over its socket and print the answer'
complete -c virtdiag -n "__fish_virtdiag_needs_command" -f -a "once" -d 'Collect twice, a short interval apart (so rates are filled), print every domain'
complete -c virtdiag -n "__fish_virtdiag_needs_command" -f -a "top" -d 'A live view of every domain, fed by the agent\'s socket; `q` quits'
complete -c virtdiag -n "__fish_virtdiag_needs_command" -f -a "completions" -d 'Print the shell completion script for bash, zsh or fish (the packages install them)'
complete -c virtdiag -n "__fish_virtdiag_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c virtdiag -n "__fish_virtdiag_using_subcommand run" -l config -d 'Config file [default: /etc/virtdiag/virtdiag.toml; missing means defaults]' -r -F
complete -c virtdiag -n "__fish_virtdiag_using_subcommand run" -s c -l connect -l uri -d 'libvirt connection URI, as virsh\'s (key `uri`; also LIBVIRT_DEFAULT_URI).' -r
complete -c virtdiag -n "__fish_virtdiag_using_subcommand run" -l interval -d 'Seconds between cycles (key `interval_seconds`).' -r
complete -c virtdiag -n "__fish_virtdiag_using_subcommand run" -l min-collect-interval -d 'At most one on-demand cycle (`collect`, SIGUSR1) per this many seconds; 0: no limit (key `min_collect_interval_seconds`).' -r
complete -c virtdiag -n "__fish_virtdiag_using_subcommand run" -l host -d 'Host name in records; empty: this machine\'s (key `host`).' -r
complete -c virtdiag -n "__fish_virtdiag_using_subcommand run" -l include -d 'Collect only these domains (name, UUID, id, glob or Nova display name); repeat for several (key `domains.include`).' -r
complete -c virtdiag -n "__fish_virtdiag_using_subcommand run" -l exclude -d 'Skip these domains; repeat for several (key `domains.exclude`).' -r
complete -c virtdiag -n "__fish_virtdiag_using_subcommand run" -l spool -d 'The spool file (key `spool.path`).' -r
complete -c virtdiag -n "__fish_virtdiag_using_subcommand run" -l max-bytes -d 'Rotate the spool before it grows past this size (bytes, or 64MiB, 1G); 0: no built-in rotation (key `spool.max_bytes`).' -r
complete -c virtdiag -n "__fish_virtdiag_using_subcommand run" -l keep -d 'Rotated spool files to keep (key `spool.keep`).' -r
complete -c virtdiag -n "__fish_virtdiag_using_subcommand run" -l fsync -d 'When to fdatasync the spool: cycle or never (key `spool.fsync`).' -r
complete -c virtdiag -n "__fish_virtdiag_using_subcommand run" -l socket -d 'The query socket (key `socket.path`).' -r
complete -c virtdiag -n "__fish_virtdiag_using_subcommand run" -l socket-mode -d 'Octal mode of the socket file, e.g. 0660 (key `socket.mode`).' -r
complete -c virtdiag -n "__fish_virtdiag_using_subcommand run" -l socket-group -d 'Group given the socket file; empty: the process\'s group (key `socket.group`).' -r
complete -c virtdiag -n "__fish_virtdiag_using_subcommand run" -l max-clients -d 'Clients served at once (key `socket.max_clients`).' -r
complete -c virtdiag -n "__fish_virtdiag_using_subcommand run" -l idle-timeout -d 'Seconds of silence before a client is disconnected (key `socket.idle_timeout_seconds`).' -r
complete -c virtdiag -n "__fish_virtdiag_using_subcommand run" -l prometheus-textfile -d 'Write the Prometheus exposition to this .prom file after each cycle, for node_exporter\'s textfile collector; empty: off (key `prometheus.textfile`).' -r
complete -c virtdiag -n "__fish_virtdiag_using_subcommand run" -l groups -d 'Statistics groups to collect, by virsh domstats\' names, comma-separated (key `collect.groups`).' -r
complete -c virtdiag -n "__fish_virtdiag_using_subcommand run" -l log-level -d 'Most verbose log level on stderr: error, warning, info or debug' -r
complete -c virtdiag -n "__fish_virtdiag_using_subcommand run" -l read-write -d 'Open a read-write connection instead of a read-only one (key `read_only`).'
complete -c virtdiag -n "__fish_virtdiag_using_subcommand run" -s h -l help -d 'Print help'
complete -c virtdiag -n "__fish_virtdiag_using_subcommand check-config" -l config -d 'Config file [default: /etc/virtdiag/virtdiag.toml; missing means defaults]' -r -F
complete -c virtdiag -n "__fish_virtdiag_using_subcommand check-config" -s c -l connect -l uri -d 'libvirt connection URI, as virsh\'s (key `uri`; also LIBVIRT_DEFAULT_URI).' -r
complete -c virtdiag -n "__fish_virtdiag_using_subcommand check-config" -l interval -d 'Seconds between cycles (key `interval_seconds`).' -r
complete -c virtdiag -n "__fish_virtdiag_using_subcommand check-config" -l min-collect-interval -d 'At most one on-demand cycle (`collect`, SIGUSR1) per this many seconds; 0: no limit (key `min_collect_interval_seconds`).' -r
complete -c virtdiag -n "__fish_virtdiag_using_subcommand check-config" -l host -d 'Host name in records; empty: this machine\'s (key `host`).' -r
complete -c virtdiag -n "__fish_virtdiag_using_subcommand check-config" -l include -d 'Collect only these domains (name, UUID, id, glob or Nova display name); repeat for several (key `domains.include`).' -r
complete -c virtdiag -n "__fish_virtdiag_using_subcommand check-config" -l exclude -d 'Skip these domains; repeat for several (key `domains.exclude`).' -r
complete -c virtdiag -n "__fish_virtdiag_using_subcommand check-config" -l spool -d 'The spool file (key `spool.path`).' -r
complete -c virtdiag -n "__fish_virtdiag_using_subcommand check-config" -l max-bytes -d 'Rotate the spool before it grows past this size (bytes, or 64MiB, 1G); 0: no built-in rotation (key `spool.max_bytes`).' -r
complete -c virtdiag -n "__fish_virtdiag_using_subcommand check-config" -l keep -d 'Rotated spool files to keep (key `spool.keep`).' -r
complete -c virtdiag -n "__fish_virtdiag_using_subcommand check-config" -l fsync -d 'When to fdatasync the spool: cycle or never (key `spool.fsync`).' -r
complete -c virtdiag -n "__fish_virtdiag_using_subcommand check-config" -l socket -d 'The query socket (key `socket.path`).' -r
complete -c virtdiag -n "__fish_virtdiag_using_subcommand check-config" -l socket-mode -d 'Octal mode of the socket file, e.g. 0660 (key `socket.mode`).' -r
complete -c virtdiag -n "__fish_virtdiag_using_subcommand check-config" -l socket-group -d 'Group given the socket file; empty: the process\'s group (key `socket.group`).' -r
complete -c virtdiag -n "__fish_virtdiag_using_subcommand check-config" -l max-clients -d 'Clients served at once (key `socket.max_clients`).' -r
complete -c virtdiag -n "__fish_virtdiag_using_subcommand check-config" -l idle-timeout -d 'Seconds of silence before a client is disconnected (key `socket.idle_timeout_seconds`).' -r
complete -c virtdiag -n "__fish_virtdiag_using_subcommand check-config" -l prometheus-textfile -d 'Write the Prometheus exposition to this .prom file after each cycle, for node_exporter\'s textfile collector; empty: off (key `prometheus.textfile`).' -r
complete -c virtdiag -n "__fish_virtdiag_using_subcommand check-config" -l groups -d 'Statistics groups to collect, by virsh domstats\' names, comma-separated (key `collect.groups`).' -r
complete -c virtdiag -n "__fish_virtdiag_using_subcommand check-config" -l log-level -d 'Most verbose log level on stderr: error, warning, info or debug' -r
complete -c virtdiag -n "__fish_virtdiag_using_subcommand check-config" -l read-write -d 'Open a read-write connection instead of a read-only one (key `read_only`).'
complete -c virtdiag -n "__fish_virtdiag_using_subcommand check-config" -s h -l help -d 'Print help'
complete -c virtdiag -n "__fish_virtdiag_using_subcommand query" -l socket -d 'The agent\'s socket' -r -F
complete -c virtdiag -n "__fish_virtdiag_using_subcommand query" -l timeout -d 'Seconds to wait for the connection and for each answer (fractions allowed); `watch` and `top` wait up to three of the agent\'s intervals more between cycles' -r
complete -c virtdiag -n "__fish_virtdiag_using_subcommand query" -l max-answer-bytes -d 'The largest answer accepted to a request that is not streamed: bytes, or with a unit (256M, 1GiB, 500MB)' -r
complete -c virtdiag -n "__fish_virtdiag_using_subcommand query" -l format -d 'For get, all, collect and watch: the records as json, legacy, nova, or table (the legacy dictionary as the original Property | Value table, even piped)' -r -f -a "json\t''
legacy\t''
nova\t''
table\t''"
complete -c virtdiag -n "__fish_virtdiag_using_subcommand query" -l log-level -d 'Most verbose log level on stderr: error, warning, info or debug' -r
complete -c virtdiag -n "__fish_virtdiag_using_subcommand query" -l raw -l json -d 'Print the raw JSON lines even on a terminal'
complete -c virtdiag -n "__fish_virtdiag_using_subcommand query" -l check -d 'With `status`: one line for a monitoring plugin (Nagios, Icinga, monit) and its exit code: 0 OK, 1 WARNING (last cycle stale, spool losses), 2 CRITICAL (libvirt disconnected, agent unreachable), 3 UNKNOWN'
complete -c virtdiag -n "__fish_virtdiag_using_subcommand query" -s h -l help -d 'Print help'
complete -c virtdiag -n "__fish_virtdiag_using_subcommand once" -s c -l connect -l uri -d 'libvirt connection URI, as virsh\'s' -r
complete -c virtdiag -n "__fish_virtdiag_using_subcommand once" -l format -d 'Output format [default: a table on a terminal, else json]' -r -f -a "json\t'One record per line (the schema of docs/record.md)'
legacy\t'One line per domain: {"domain","uuid","diagnostics"} with the flat keys of Nova\'s original get_diagnostics (2012)'
table\t'The Property | Value table per domain of Nova\'s original get_diagnostics (2012)'
prometheus\t'The Prometheus text exposition (0.0.4) of every domain and of the cycle'
nova\t'One line per domain: {"domain","uuid","diagnostics"} with Nova\'s 2.48 body'"
complete -c virtdiag -n "__fish_virtdiag_using_subcommand once" -l domain -d 'Only the domains this names: a UUID, an id, a name, a glob (*, ?, [...]) or a Nova display name (DOMAIN SELECTION in virtdiag(8)); repeat for several' -r
complete -c virtdiag -n "__fish_virtdiag_using_subcommand once" -l sample-interval -d 'Seconds between the two samples' -r
complete -c virtdiag -n "__fish_virtdiag_using_subcommand once" -l host -d 'Host name in records (default: this machine\'s)' -r
complete -c virtdiag -n "__fish_virtdiag_using_subcommand once" -l log-level -d 'Most verbose log level on stderr: error, warning, info or debug' -r
complete -c virtdiag -n "__fish_virtdiag_using_subcommand once" -l read-write -d 'Open a read-write connection instead of a read-only one'
complete -c virtdiag -n "__fish_virtdiag_using_subcommand once" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c virtdiag -n "__fish_virtdiag_using_subcommand top" -l socket -d 'The agent\'s socket' -r -F
complete -c virtdiag -n "__fish_virtdiag_using_subcommand top" -l timeout -d 'Seconds to wait for the connection and for each answer (fractions allowed); `watch` and `top` wait up to three of the agent\'s intervals more between cycles' -r
complete -c virtdiag -n "__fish_virtdiag_using_subcommand top" -l max-answer-bytes -d 'The largest answer accepted to a request that is not streamed: bytes, or with a unit (256M, 1GiB, 500MB)' -r
complete -c virtdiag -n "__fish_virtdiag_using_subcommand top" -l log-level -d 'Most verbose log level on stderr: error, warning, info or debug' -r
complete -c virtdiag -n "__fish_virtdiag_using_subcommand top" -s h -l help -d 'Print help'
complete -c virtdiag -n "__fish_virtdiag_using_subcommand completions" -l log-level -d 'Most verbose log level on stderr: error, warning, info or debug' -r
complete -c virtdiag -n "__fish_virtdiag_using_subcommand completions" -s h -l help -d 'Print help'
complete -c virtdiag -n "__fish_virtdiag_using_subcommand help; and not __fish_seen_subcommand_from run check-config query once top completions help" -f -a "run" -d 'Run the agent: collect every interval, append to the spool, answer on the socket'
complete -c virtdiag -n "__fish_virtdiag_using_subcommand help; and not __fish_seen_subcommand_from run check-config query once top completions help" -f -a "check-config" -d 'Validate the configuration and print the effective one (exit 78 if it is bad)'
complete -c virtdiag -n "__fish_virtdiag_using_subcommand help; and not __fish_seen_subcommand_from run check-config query once top completions help" -f -a "query" -d 'Ask a running agent over its socket and print the answer'
complete -c virtdiag -n "__fish_virtdiag_using_subcommand help; and not __fish_seen_subcommand_from run check-config query once top completions help" -f -a "once" -d 'Collect twice, a short interval apart (so rates are filled), print every domain'
complete -c virtdiag -n "__fish_virtdiag_using_subcommand help; and not __fish_seen_subcommand_from run check-config query once top completions help" -f -a "top" -d 'A live view of every domain, fed by the agent\'s socket; `q` quits'
complete -c virtdiag -n "__fish_virtdiag_using_subcommand help; and not __fish_seen_subcommand_from run check-config query once top completions help" -f -a "completions" -d 'Print the shell completion script for bash, zsh or fish (the packages install them)'
complete -c virtdiag -n "__fish_virtdiag_using_subcommand help; and not __fish_seen_subcommand_from run check-config query once top completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
