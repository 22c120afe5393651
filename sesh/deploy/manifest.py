"""Deployment manifests: `deployments/<chain_id>.json`, one per chain.

The manifest is how every other part (SDK, CLI, bridge, devnet) finds the contracts,
and how a deployment resumes: each finished step is recorded the moment it finishes,
with an atomic write, so an interrupted run knows exactly what already exists.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MANIFEST_VERSION = 1
DEFAULT_DIRECTORY = Path("deployments")


class ManifestError(Exception):
    """A manifest that cannot be used as asked (wrong chain, unreadable, missing entry)."""


@dataclass
class DeployedContract:
    """One deployed contract: where it is, what it is, how it was made."""

    address: str
    contract_type: str
    tx_hash: str = ""
    block: int = 0
    args: list[Any] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "contract_type": self.contract_type,
            "tx_hash": self.tx_hash,
            "block": self.block,
            "args": self.args,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DeployedContract:
        return cls(
            address=data["address"],
            contract_type=data["contract_type"],
            tx_hash=data.get("tx_hash", ""),
            block=int(data.get("block", 0)),
            args=list(data.get("args", [])),
        )


@dataclass
class Manifest:
    """The contracts and finished steps of one chain's deployment."""

    chain_id: int
    path: Path
    network: str = ""
    contracts: dict[str, DeployedContract] = field(default_factory=dict)
    steps: list[str] = field(default_factory=list)
    # Transactions signed and about to be (or being) sent, by step: written before each
    # broadcast, so a run killed mid-transaction finds it again instead of sending twice.
    pending: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Progress of `sesh migrate` (nodes seeded, started): a record for the people
    # running the move; the chain, not this, decides what is left to do.
    migration: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def path_for(cls, chain_id: int, directory: Path | str = DEFAULT_DIRECTORY) -> Path:
        return Path(directory) / f"{chain_id}.json"

    @classmethod
    def load(cls, chain_id: int, directory: Path | str = DEFAULT_DIRECTORY) -> Manifest:
        """The manifest of `chain_id` in `directory`, or an empty one if there is none."""
        path = cls.path_for(chain_id, directory)
        if not path.exists():
            return cls(chain_id=chain_id, path=path)
        return cls.read(path, expected_chain_id=chain_id)

    @classmethod
    def read(cls, path: Path | str, expected_chain_id: int | None = None) -> Manifest:
        """Read a manifest file, refusing one written for another chain."""
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ManifestError(f"cannot read deployment manifest {path}: {exc}") from None
        chain_id = data.get("chain_id")
        if not isinstance(chain_id, int):
            raise ManifestError(f"{path} is not a deployment manifest (no chain_id)")
        if expected_chain_id is not None and chain_id != expected_chain_id:
            raise ManifestError(
                f"{path} is for chain {chain_id}, but the connected chain is {expected_chain_id}"
            )
        return cls(
            chain_id=chain_id,
            path=path,
            network=data.get("network", ""),
            contracts={
                name: DeployedContract.from_json(entry)
                for name, entry in data.get("contracts", {}).items()
            },
            steps=list(data.get("steps", [])),
            pending=dict(data.get("pending", {})),
            migration=dict(data.get("migration", {})),
        )

    def address(self, name: str) -> str:
        """The address of contract `name`, or a clear error if it was never deployed."""
        if name not in self.contracts:
            raise ManifestError(
                f"{name} is not in {self.path}; deploy it first (ape run deploy --help)"
            )
        return self.contracts[name].address

    def record(self, name: str, contract: DeployedContract) -> None:
        """Record a deployed contract and write the manifest at once."""
        self.contracts[name] = contract
        self.save()

    def mark_done(self, step: str) -> None:
        """Record a finished step (wiring, funding ...) and write the manifest at once."""
        if step not in self.steps:
            self.steps.append(step)
        self.save()

    def is_done(self, step: str) -> bool:
        return step in self.steps

    def set_pending(self, step: str, transaction: dict[str, Any]) -> None:
        """Record a transaction of `step` before it is broadcast, and write at once."""
        self.pending[step] = transaction
        self.save()

    def clear_pending(self, step: str) -> None:
        if self.pending.pop(step, None) is not None:
            self.save()

    def forget(self) -> None:
        """Start afresh (a local chain that was restarted holds none of these contracts)."""
        self.contracts.clear()
        self.steps.clear()
        self.pending.clear()
        self.save()

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "version": MANIFEST_VERSION,
            "chain_id": self.chain_id,
            "network": self.network,
            "contracts": {name: c.to_json() for name, c in sorted(self.contracts.items())},
            "steps": self.steps,
        }
        if self.pending:
            data["pending"] = self.pending
        if self.migration:
            data["migration"] = self.migration
        return data

    def record_migration(self, **progress: Any) -> None:
        """Record `sesh migrate`'s progress and write at once."""
        self.migration.update(progress)
        self.save()

    def save(self) -> None:
        """Write atomically: a crash leaves either the old file or the new one, never half."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.to_json(), indent=2) + "\n"
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
