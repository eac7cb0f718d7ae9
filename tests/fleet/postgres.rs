//! A private PostgreSQL for a test: a new cluster in a directory of its own under /tmp,
//! listening on a Unix socket there and on no TCP address, run as the `postgres`
//! system user when the test runs as root (initdb refuses root); stopped and removed
//! when dropped.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

pub struct Postgres {
    bin: PathBuf,
    /// The cluster's data directory and socket directory live under this one.
    root: PathBuf,
    pub port: u16,
}

/// The newest installed server's binaries (`/usr/lib/postgresql/N/bin`).
fn server_bin() -> PathBuf {
    let mut versions: Vec<u32> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed (tests/run.sh installs postgresql-15)")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    versions.sort();
    let newest = versions.last().expect("a PostgreSQL server version");
    PathBuf::from(format!("/usr/lib/postgresql/{newest}/bin"))
}

fn running_as_root() -> bool {
    nix::unistd::Uid::effective().is_root()
}

impl Postgres {
    /// Creates the cluster and the database `dbname`, and starts the server.
    pub fn start(name: &str, port: u16, dbname: &str) -> Postgres {
        let root = PathBuf::from(format!("/tmp/virtdiag-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("socket")).unwrap();
        let postgres = Postgres {
            bin: server_bin(),
            root,
            port,
        };
        if running_as_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&postgres.root)
                .status()
                .unwrap();
            assert!(status.success());
        }
        postgres.run_as_owner(
            "initdb",
            &[
                "-D",
                &postgres.data().display().to_string(),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        postgres.start_server();
        postgres.sql("postgres", &format!("CREATE DATABASE {dbname}"));
        postgres
    }

    fn data(&self) -> PathBuf {
        self.root.join("data")
    }

    /// The directory of the server's Unix socket (libpq's `host`).
    pub fn socket_dir(&self) -> PathBuf {
        self.root.join("socket")
    }

    /// A libpq connection URI for `dbname` as the superuser, over the Unix socket (a
    /// URI has no blanks, as rsyslog's `conninfo` requires).
    pub fn uri(&self, dbname: &str) -> String {
        format!(
            "postgresql:///{dbname}?host={}&port={}&user=postgres",
            self.socket_dir().display(),
            self.port
        )
    }

    /// A server program run as the cluster's owner.
    fn as_owner(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        if running_as_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }

    /// Runs a server program as the cluster's owner and fails the test if it fails.
    fn run_as_owner(&self, program: &str, args: &[&str]) {
        let out = self.as_owner(program).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{program} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts the server (again) and waits until it accepts connections.
    pub fn start_server(&self) {
        let options = format!(
            "-c listen_addresses='' -k {} -p {} -c fsync=off",
            self.socket_dir().display(),
            self.port
        );
        let log = self.root.join("server.log").display().to_string();
        let data = self.data().display().to_string();
        self.run_as_owner(
            "pg_ctl",
            &[
                "-D", &data, "-l", &log, "-o", &options, "-w", "-t", "30", "start",
            ],
        );
    }

    /// Stops the server; `fast` aborts open transactions and closes every connection.
    pub fn stop_server(&self) {
        let data = self.data().display().to_string();
        self.run_as_owner("pg_ctl", &["-D", &data, "-m", "fast", "-w", "stop"]);
    }

    /// Runs `sql` with psql on `dbname`; returns its unaligned, tuples-only output.
    pub fn sql(&self, dbname: &str, sql: &str) -> String {
        self.script(dbname, sql, &[])
    }

    /// Runs a psql script (SQL and backslash commands, read from standard input) on
    /// `dbname` with psql variables `vars`; returns its unaligned, tuples-only output.
    pub fn script(&self, dbname: &str, script: &str, vars: &[(&str, &str)]) -> String {
        let mut command = Command::new(self.bin.join("psql"));
        command
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-f", "-"])
            .arg("-d")
            .arg(self.uri(dbname));
        for (name, value) in vars {
            command.arg("-v").arg(format!("{name}={value}"));
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(script.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "psql {script:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.data().display().to_string();
        let _ = self
            .as_owner("pg_ctl")
            .args(["-D", &data, "-m", "immediate", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}
