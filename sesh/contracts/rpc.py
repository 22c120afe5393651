"""Reading deployed contracts over plain JSON-RPC (web3's HTTP provider and the shipped
ABIs), without Ape.

Ape's network choice alone (`--network arbitrum:devnet:node`) imports py-evm and every
provider plugin: about 2.4 s of CPU before a command runs. A command that only reads and
needs no account to sign (`sesh rewards show`, `sesh node status`, ...) needs none of it:
an RPC URL and the ABIs shipped in `sesh/contracts/abi/`. `RpcContract` answers view calls
the way an Ape `ContractInstance` does for the SDK's wrappers (`contract.node(7).status`,
`rewards, stake = contract.claimable(7, account)`), so the wrappers work on either.

`rpc_url(choice)` turns a network choice into the URL to read from: the URL in the choice
itself (`arbitrum:devnet:http://127.0.0.1:8545`), else the `node:` URI configured for that
network in the project's `ape-config.yaml`. Anything else (a provider other than a URL, an
unknown network) returns None and the command goes through Ape as before.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sesh.contracts.base import ContractError, decode_revert

URL_SCHEMES = ("http://", "https://")


@dataclass(frozen=True)
class ReadNetwork:
    """A network choice resolved without Ape: its name (`devnet`, `sepolia`) and URL."""

    choice: str
    ecosystem: str
    name: str
    url: str


# Set to 1 to read through Ape even where plain JSON-RPC would do (to compare the two).
THROUGH_APE_VARIABLE = "SESH_READS_THROUGH_APE"


def rpc_url(choice: str, config_path: Path | None = None) -> ReadNetwork | None:
    """The network `choice` read over plain JSON-RPC, or None when only Ape can resolve it
    (or SESH_READS_THROUGH_APE=1 asks for Ape)."""
    if os.environ.get(THROUGH_APE_VARIABLE) == "1":
        return None
    ecosystem, _, rest = choice.partition(":")
    name, _, provider = rest.partition(":")
    if not ecosystem or not name:
        return None
    if provider.startswith(URL_SCHEMES):
        return ReadNetwork(choice, ecosystem, name, provider)
    if provider not in ("", "node"):
        return None  # another provider plugin (foundry, alchemy, ...): Ape's business
    uri = _configured_uri(config_path or Path("ape-config.yaml"), ecosystem, name)
    if uri is None or not uri.startswith(URL_SCHEMES):
        return None
    return ReadNetwork(choice, ecosystem, name, uri)


def _configured_uri(path: Path, ecosystem: str, name: str) -> str | None:
    """`node: <ecosystem>: <name>: uri:` of the project's Ape config (as Ape reads it)."""
    if not path.is_file():
        return None
    import yaml

    try:
        config = yaml.safe_load(path.read_text()) or {}
        uri = config["node"][ecosystem][name]["uri"]
    except (yaml.YAMLError, KeyError, TypeError, OSError):
        return None
    return uri if isinstance(uri, str) else None


def web3_for(url: str) -> Any:
    from web3 import HTTPProvider, Web3

    return Web3(HTTPProvider(url, request_kwargs={"timeout": 30}))


class Struct(tuple):
    """A decoded ABI tuple: by position, and by component name as an attribute."""

    _names: tuple[str, ...] = ()

    def __new__(cls, values: tuple, names: tuple[str, ...]) -> Struct:
        made = super().__new__(cls, values)
        made._names = names
        return made

    def __getattr__(self, name: str) -> Any:
        try:
            return self[self._names.index(name)]
        except ValueError:
            raise AttributeError(name) from None


def _type_string(param: dict[str, Any]) -> str:
    kind = param["type"]
    if kind.startswith("tuple"):
        inner = ",".join(_type_string(c) for c in param["components"])
        return f"({inner}){kind[len('tuple') :]}"
    return kind


def _shape(param: dict[str, Any], value: Any) -> Any:
    """eth_abi's decoded value as Ape gives it: checksummed addresses, named structs."""
    kind = param["type"]
    if kind.endswith("]"):
        inner = {**param, "type": kind[: kind.rindex("[")]}
        return [_shape(inner, v) for v in value]
    if kind == "tuple":
        components = param["components"]
        shaped = tuple(_shape(c, v) for c, v in zip(components, value, strict=True))
        return Struct(shaped, tuple(c["name"] for c in components))
    if kind == "address":
        from eth_utils import to_checksum_address

        return to_checksum_address(value)
    return value


def _argument(value: Any) -> Any:
    """An argument as eth_abi takes it: contracts and accounts by their address."""
    address = getattr(value, "address", None)
    if address is not None and not isinstance(value, (str, bytes)):
        return str(address)
    if isinstance(value, (list, tuple)):
        return type(value)(_argument(v) for v in value)
    return value


class _View:
    def __init__(self, contract: RpcContract, name: str, overloads: list[dict[str, Any]]):
        self.contract, self.name, self.overloads = contract, name, overloads

    def _abi(self, args: tuple) -> dict[str, Any]:
        matching = [a for a in self.overloads if len(a["inputs"]) == len(args)]
        if len(matching) != 1:
            raise TypeError(f"{self.name}: no single overload takes {len(args)} arguments")
        return matching[0]

    def encode_input(self, *args: Any) -> bytes:
        from eth_abi import encode
        from eth_utils import keccak

        abi = self._abi(args)
        types = [_type_string(p) for p in abi["inputs"]]
        selector = keccak(text=f"{self.name}({','.join(types)})")[:4]
        return selector + encode(types, [_argument(a) for a in args])

    def __call__(self, *args: Any) -> Any:
        from eth_abi import decode
        from web3.exceptions import ContractLogicError

        abi = self._abi(args)
        data = self.encode_input(*args)
        try:
            raw = self.contract.w3.eth.call({"to": self.contract.address, "data": data})
        except ContractLogicError as exc:
            reason = decode_revert(getattr(exc, "data", None)) or str(exc.message or exc)
            reason = " ".join(reason.removeprefix("execution reverted: ").split())
            raise ContractError(reason) from None
        outputs = abi["outputs"]
        values = decode([_type_string(p) for p in outputs], bytes(raw))
        shaped = tuple(_shape(p, v) for p, v in zip(outputs, values, strict=True))
        return shaped[0] if len(shaped) == 1 else shaped


@dataclass(frozen=True)
class _Event:
    name: str
    selector: str


class _ContractType:
    """What the SDK reads of Ape's `ContractType`: the name and the events."""

    def __init__(self, name: str, abi: list[dict[str, Any]]):
        self.name = name
        self.events = [
            _Event(e["name"], f"{e['name']}({','.join(_type_string(i) for i in e['inputs'])})")
            for e in abi
            if e.get("type") == "event"
        ]


class RpcContract:
    """A deployed contract's views over JSON-RPC, called as on an Ape `ContractInstance`."""

    def __init__(self, w3: Any, address: str, contract_type: str, abi: list[dict[str, Any]]):
        from eth_utils import to_checksum_address

        self.w3 = w3
        self.address = to_checksum_address(address)
        self.contract_type = _ContractType(contract_type, abi)
        self._functions: dict[str, list[dict[str, Any]]] = {}
        for entry in abi:
            if entry.get("type") == "function":
                self._functions.setdefault(entry["name"], []).append(entry)

    def __getattr__(self, name: str) -> _View:
        overloads = self.__dict__.get("_functions", {}).get(name)
        if overloads is None:
            raise AttributeError(name)
        return _View(self, name, overloads)

    def __str__(self) -> str:
        return self.address


def web3_of(contract: Any) -> Any:
    """The web3 a contract is read through: its own (`RpcContract`), else Ape's provider's."""
    own = getattr(contract, "w3", None) if isinstance(contract, RpcContract) else None
    if own is not None:
        return own
    from ape import chain

    return chain.provider.web3


def dev_account_address(index: int, config_path: Path | None = None) -> str:
    """The address of Ape's test account `index` (the `test: mnemonic:` of ape-config.yaml,
    Ape's default derivation path), derived without loading Ape."""
    from eth_account import Account

    mnemonic = "test test test test test test test test test test test junk"
    path = config_path or Path("ape-config.yaml")
    if path.is_file():
        import yaml

        with contextlib.suppress(yaml.YAMLError, KeyError, TypeError):
            mnemonic = (yaml.safe_load(path.read_text()) or {})["test"]["mnemonic"]
    Account.enable_unaudited_hdwallet_features()
    return Account.from_mnemonic(mnemonic, account_path=f"m/44'/60'/0'/0/{index}").address


def keyfile_address(alias: str) -> str | None:
    """The address of the Ape keyfile account `alias` (its JSON keystore's `address`), or
    None when there is no such file (Ape then says what is known)."""
    from eth_utils import to_checksum_address

    folder = Path(os.environ.get("APE_DATA_FOLDER") or Path.home() / ".ape")
    path = folder / "accounts" / f"{alias}.json"
    try:
        address = json.loads(path.read_text())["address"]
        return to_checksum_address(address)
    except (OSError, ValueError, KeyError, TypeError):
        return None
