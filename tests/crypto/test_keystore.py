"""Node keystores (sesh.crypto.keystore): a complete file opens with its password; a file
missing or mangling any field is a `KeystoreError` naming the field, never a KeyError or
a traceback, whichever entry point reads it."""

from __future__ import annotations

import json

import pytest

from sesh.crypto import keystore
from sesh.crypto.keystore import KeystoreError
from sesh.crypto.node_keys import NodeKeys

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    path = tmp_path_factory.mktemp("keystore") / "keys.json"
    keys = NodeKeys.generate()
    keystore.create(path, keys, PASSWORD)
    return path, keys


def _edited(tmp_path, original, edit) -> str:
    document = json.loads(original[0].read_text())
    edit(document)
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(document))
    return str(path)


def test_open__a_complete_keystore__gives_its_keys(original):
    path, keys = original
    opened = keystore.open_keys(path, PASSWORD)
    assert opened.ed25519_pubkey == keys.ed25519_pubkey
    assert keystore.public_keys(path).ed25519_pubkey == keys.ed25519_pubkey.hex()


def _drop(*where):
    def edit(document):
        for key in where[:-1]:
            document = document[key]
        del document[where[-1]]

    return edit


def _set(value, *where):
    def edit(document):
        for key in where[:-1]:
            document = document[key]
        document[where[-1]] = value

    return edit


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (_drop("crypto"), "field 'crypto' missing"),
        (_drop("node_id"), "field 'node_id' missing"),
        (_drop("ed25519_pubkey"), "field 'ed25519_pubkey' missing"),
        (_set(7, "bls_pubkey"), "field 'bls_pubkey' is not text"),
        (_set([], "crypto"), "field 'crypto' is not an object"),
        (_drop("crypto", "nonce"), "field 'crypto.nonce' missing"),
        (_drop("crypto", "ciphertext"), "field 'crypto.ciphertext' missing"),
        (_set("zz", "crypto", "ciphertext"), "field 'crypto.ciphertext' is not hex"),
        (_drop("crypto", "kdfparams"), "field 'crypto.kdfparams' missing"),
        (_set("x", "crypto", "kdfparams"), "field 'crypto.kdfparams' is not an object"),
        (_set("16384", "crypto", "kdfparams", "n"), "'crypto.kdfparams.n' is not a positive"),
        (_set(0, "crypto", "kdfparams", "r"), "'crypto.kdfparams.r' is not a positive"),
        (_set(True, "crypto", "kdfparams", "p"), "'crypto.kdfparams.p' is not a positive"),
        (_drop("crypto", "kdfparams", "salt"), "field 'crypto.kdfparams.salt' is not hex"),
    ],
)
def test_open__an_incomplete_or_mangled_keystore__names_the_field(
    tmp_path, original, edit, problem
):
    path = _edited(tmp_path, original, edit)
    for read in (lambda: keystore.open_keys(path, PASSWORD), lambda: keystore.public_keys(path)):
        with pytest.raises(KeystoreError, match="is not a complete sesh node keystore") as caught:
            read()
        assert problem in str(caught.value) and "restore it from your backup" in str(caught.value)


def test_open__scrypt_parameters_it_cannot_use__is_a_keystore_error(tmp_path, original):
    path = _edited(tmp_path, original, _set(3, "crypto", "kdfparams", "n"))  # not a power of 2
    with pytest.raises(KeystoreError, match="scrypt parameters are unusable"):
        keystore.open_keys(path, PASSWORD)


def test_open__wrong_password__is_a_keystore_error(original):
    with pytest.raises(KeystoreError, match="wrong password, or the file was altered"):
        keystore.open_keys(original[0], "not-the-password")
