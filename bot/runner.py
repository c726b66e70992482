"""Training the model and running Rasa, the action server and the gateway as child processes."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
log = logging.getLogger("putokaz.runner")


def rasa_command(*args: str) -> list[str]:
    rasa = BIN / "rasa"
    return [str(rasa) if rasa.exists() else "rasa", *args]


def train(force: bool = False, out: Path | None = None, quiet: bool = False) -> Path | None:
    """Train into models/ (or `out`); Rasa skips the work when nothing changed. Returns the model path."""
    out = out or ROOT / "models"
    command = rasa_command("train", "--data", str(ROOT / "nlu_data"), "--domain", str(ROOT / "domain"),
                           "--config", str(ROOT / "config.yml"), "--out", str(out))
    if force:
        command.append("--force")
    result = subprocess.run(command, cwd=ROOT, env=child_env(), stdout=subprocess.PIPE if quiet else None,
                            stderr=subprocess.STDOUT if quiet else None, text=True)
    if result.returncode != 0:
        if quiet and result.stdout:
            sys.stderr.write(result.stdout[-5000:])
        return None
    models = sorted(out.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return models[-1] if models else None


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_ready(url: str, process: subprocess.Popen[bytes] | None = None, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{' '.join(map(str, process.args))} exited with {process.returncode} "
                               f"before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status < 500:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")


@dataclass
class Stack:
    """Rasa server and action server (and optionally the gateway), started and stopped together."""

    model: Path
    rasa_port: int = 5005
    actions_port: int = 5055
    env: dict[str, str] = field(default_factory=dict)
    log_dir: Path | None = None
    #: more `rasa run` processes (same model, same action server) on free ports, beside the first
    extra_rasa: int = 0
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    extra_rasa_ports: list[int] = field(default_factory=list)

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def rasa_urls(self) -> list[str]:
        """Every Rasa server of the stack, the first one (`rasa_url`) first."""
        return [self.rasa_url, *(f"http://127.0.0.1:{port}" for port in self.extra_rasa_ports)]

    @property
    def actions_url(self) -> str:
        return f"http://127.0.0.1:{self.actions_port}/webhook"

    def _spawn(self, name: str, command: Sequence[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        output = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            output = open(self.log_dir / f"{name}.log", "wb")  # noqa: SIM115 (closed with the process)
        process = subprocess.Popen(list(command), cwd=ROOT, env=env, stdout=output,
                                   stderr=subprocess.STDOUT if output else None, start_new_session=True)
        self.processes.append(process)
        return process

    def endpoints_file(self) -> Path:
        """Rasa's endpoints.yml for this stack's action server port."""
        import tempfile

        folder = self.log_dir or Path(tempfile.mkdtemp(prefix="putokaz-"))
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "endpoints.yml"
        path.write_text(f"action_endpoint:\n  url: {self.actions_url}\n", encoding="utf-8")
        return path

    def start(self, timeout: float = 240.0) -> Stack:
        env = child_env(**self.env)
        actions = self._spawn("actions", rasa_command("run", "actions", "--actions", "actions", "--port",
                                                      str(self.actions_port)), env)
        endpoints = self.endpoints_file()
        self.extra_rasa_ports = [free_port() for _ in range(self.extra_rasa)]
        servers = []
        for n, port in enumerate([self.rasa_port, *self.extra_rasa_ports]):
            servers.append((port, self._spawn("rasa" if n == 0 else f"rasa-{n + 1}", rasa_command(
                "run", "--enable-api", "--model", str(self.model), "--port", str(port), "--endpoints", str(endpoints),
                "--credentials", str(ROOT / "credentials.yml"), "--interface", "127.0.0.1"), env)))
        try:
            wait_until_ready(f"http://127.0.0.1:{self.actions_port}/health", actions, timeout)
            for port, rasa in servers:
                wait_until_ready(f"http://127.0.0.1:{port}/status", rasa, timeout)
        except BaseException:  # also Ctrl-C while waiting: no process is left behind
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=15)
        self.processes.clear()


def run_all(train_model: bool = True) -> int:
    """`putokaz run`: Rasa, actions and the gateway on one machine with embedded defaults."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    from bot.settings import Settings

    Settings.from_env()  # a bad setting (or teams file) stops here, before training and starting anything
    model = train() if train_model else None
    if model is None:
        models = sorted((ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
        if not models:
            print("putokaz: no trained model in models/; run without --no-train", file=sys.stderr)
            return 1
        model = models[-1]
    rasa_port = int(os.environ.get("PUTOKAZ_RASA_PORT", "5005"))
    actions_port = int(os.environ.get("PUTOKAZ_ACTIONS_PORT", "5055"))
    stack = Stack(model=model, rasa_port=rasa_port, actions_port=actions_port)
    print(f"putokaz: starting the action server on :{actions_port} and Rasa on :{rasa_port} (model {model.name})",
          flush=True)
    stack.start()
    print(f"putokaz: Rasa listens on {stack.rasa_url}, actions on {stack.actions_url}", flush=True)
    try:
        from bot.gateway.app import serve

        serve(rasa_url=stack.rasa_url)
    except KeyboardInterrupt:
        pass
    finally:
        print("putokaz: stopping Rasa and the action server", flush=True)
        stack.stop()
    return 0
