"""Throwaway PostgreSQL, Redis and moto S3 servers on 127.0.0.1 for the scale-out suite.

Both listen on a free loopback port, keep their data in a fresh temp directory, are checked for
readiness before use and are stopped (data removed) by ``stop()``. A server that does not come up
raises ``ServiceError`` with the tail of its log, so CI output says what went wrong.

PostgreSQL is Debian's (``/usr/lib/postgresql/<version>/bin``). ``initdb`` refuses to run as root: when
the tests run as root, the data directory is owned by the ``postgres`` user and every server command
runs through ``runuser -u postgres``. Host connections on 127.0.0.1 use ``trust`` (a throwaway
cluster only reachable from this machine; a real deployment uses passwords, see docs/deploy.md).
"""

from __future__ import annotations

import glob
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"


class ServiceError(RuntimeError):
    """A test service could not be started (the message carries its log tail)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def log_tail(path: Path, chars: int = 3000) -> str:
    """The last ``chars`` characters of a log file ('' when it does not exist)."""
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-chars:]
    except OSError:
        return ""


def _wait(check, what: str, timeout: float, log_file: Path, proc: subprocess.Popen | None = None) -> float:
    """Poll ``check()`` until it is true; raise ``ServiceError`` (with the log tail) on timeout or exit."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc is not None and proc.poll() is not None:
            raise ServiceError(
                f"{what} exited with {proc.returncode} while starting; log {log_file}:\n{log_tail(log_file)}"
            )
        try:
            if check():
                return time.monotonic() - t0
        except OSError:
            pass
        time.sleep(0.2)
    raise ServiceError(f"{what} not ready after {timeout:.0f} s; log {log_file}:\n{log_tail(log_file)}")


def pg_bin_dir() -> Path:
    """Debian's PostgreSQL binaries (newest version installed); raises with an install hint."""
    found = sorted(glob.glob(PG_BIN_GLOB))
    if not found:
        raise ServiceError(
            "PostgreSQL is not installed: `apt-get install postgresql` (Debian) provides "
            "/usr/lib/postgresql/<version>/bin"
        )
    return Path(found[-1])


@dataclass
class PostgresServer:
    """A PostgreSQL cluster on 127.0.0.1:``port`` with one database ``database`` owned by ``user``."""

    user: str = "airflow"
    database: str = "airflow"
    port: int = field(default_factory=free_port)
    data_root: Path | None = None
    startup_seconds: float = 0.0

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the database (psycopg2 driver)."""
        return f"postgresql+psycopg2://{self.user}@{HOST}:{self.port}/{self.database}"

    @property
    def log_file(self) -> Path:
        assert self.data_root is not None
        return self.data_root / "postgres.log"

    def _as_owner(self, argv: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv

    def _run(self, argv: list[str], what: str) -> None:
        proc = subprocess.run(self._as_owner(argv), capture_output=True, text=True)
        if proc.returncode != 0:
            raise ServiceError(
                f"{what} failed (exit {proc.returncode}):\n{proc.stdout[-1500:]}\n"
                f"{proc.stderr[-1500:]}\n{log_tail(self.log_file)}"
            )

    def start(self) -> PostgresServer:
        """initdb, start on the port, wait until it accepts connections, create the database."""
        t0 = time.monotonic()
        bin_dir = pg_bin_dir()
        # Not under pytest's tmp dir: that is 0700 root, the postgres user could not enter it.
        self.data_root = Path(tempfile.mkdtemp(prefix="douyin-pg-"))
        data = self.data_root / "data"
        data.mkdir()
        self.log_file.touch()
        if os.geteuid() == 0:
            try:
                import pwd

                pwd.getpwnam("postgres")
            except KeyError:
                raise ServiceError(
                    "initdb refuses to run as root and there is no `postgres` user to run it as: "
                    "install Debian's postgresql package (it creates the user) or run as non-root"
                ) from None
            shutil.chown(self.data_root, "postgres")
            shutil.chown(data, "postgres")
            shutil.chown(self.log_file, "postgres")
        self._run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                self.user,
                "--auth=trust",
                "--encoding=UTF8",
                "--no-instructions",
            ],
            "initdb",
        )
        options = (
            f"-c listen_addresses={HOST} -p {self.port} -k {self.data_root} -c fsync=off "
            f"-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(self.log_file),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            ],
            "pg_ctl start",
        )
        _wait(
            lambda: (
                subprocess.run(
                    [str(bin_dir / "pg_isready"), "-h", HOST, "-p", str(self.port)], capture_output=True
                ).returncode
                == 0
            ),
            "PostgreSQL",
            60,
            self.log_file,
        )
        import psycopg2

        con = psycopg2.connect(host=HOST, port=self.port, user=self.user, dbname="postgres")
        try:
            con.autocommit = True
            with con.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{self.database}" OWNER "{self.user}"')
        finally:
            con.close()
        self.startup_seconds = time.monotonic() - t0
        log.info("PostgreSQL on %s:%d ready in %.1f s (data %s)", HOST, self.port, self.startup_seconds, data)
        return self

    def stop(self) -> None:
        """Fast shutdown, then remove the data directory."""
        if self.data_root is None:
            return
        data = self.data_root / "data"
        if (data / "postmaster.pid").exists():
            try:
                self._run(
                    [str(pg_bin_dir() / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "-t", "30", "stop"],
                    "pg_ctl stop",
                )
            except ServiceError as exc:
                log.warning("%s", exc)
        shutil.rmtree(self.data_root, ignore_errors=True)
        self.data_root = None


@dataclass
class RedisServer:
    """A Redis server on 127.0.0.1:``port`` without persistence."""

    port: int = field(default_factory=free_port)
    data_root: Path | None = None
    proc: subprocess.Popen | None = None
    startup_seconds: float = 0.0

    def url(self, db: int = 0) -> str:
        return f"redis://{HOST}:{self.port}/{db}"

    @property
    def log_file(self) -> Path:
        assert self.data_root is not None
        return self.data_root / "redis.log"

    def ping(self) -> bool:
        with socket.create_connection((HOST, self.port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            raise ServiceError("redis-server is not installed: `apt-get install redis-server`")
        t0 = time.monotonic()
        self.data_root = Path(tempfile.mkdtemp(prefix="douyin-redis-"))
        with open(self.log_file, "wb") as out:
            self.proc = subprocess.Popen(
                [
                    binary,
                    "--bind",
                    HOST,
                    "--port",
                    str(self.port),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(self.data_root),
                    "--daemonize",
                    "no",
                    "--protected-mode",
                    "yes",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _wait(self.ping, "Redis", 30, self.log_file, self.proc)
        self.startup_seconds = time.monotonic() - t0
        log.info("Redis on %s:%d ready in %.1f s", HOST, self.port, self.startup_seconds)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None
        if self.data_root is not None:
            shutil.rmtree(self.data_root, ignore_errors=True)
            self.data_root = None


@dataclass
class MotoS3Server:
    """A moto S3 server (``moto_server``) on 127.0.0.1:``port``; moto accepts any key and secret."""

    port: int = field(default_factory=free_port)
    key: str = "moto-test-key"
    secret: str = "moto-test-secret"
    region: str = "us-east-1"
    data_root: Path | None = None
    proc: subprocess.Popen | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def log_file(self) -> Path:
        assert self.data_root is not None
        return self.data_root / "moto_server.log"

    def client(self):
        """A boto3 S3 client of this server."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.key,
            aws_secret_access_key=self.secret,
            region_name=self.region,
        )

    def make_bucket(self, name: str) -> str:
        self.client().create_bucket(Bucket=name)
        return name

    def _ready(self) -> bool:
        import httpx

        try:
            return httpx.get(self.endpoint_url + "/", timeout=1.0).status_code < 500
        except httpx.HTTPError:
            return False

    def start(self) -> MotoS3Server:
        import sys

        self.data_root = Path(tempfile.mkdtemp(prefix="douyin-moto-"))
        exe = Path(sys.executable).parent / "moto_server"
        with open(self.log_file, "wb") as out:
            self.proc = subprocess.Popen(
                [str(exe), "-H", HOST, "-p", str(self.port)],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _wait(self._ready, "moto_server", 60, self.log_file, self.proc)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None
        if self.data_root is not None:
            shutil.rmtree(self.data_root, ignore_errors=True)
            self.data_root = None
