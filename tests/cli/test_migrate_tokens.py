"""`sesh migrate tokens build`: a CSV snapshot to a root, a total and a proofs file whose
every proof verifies; a bad row refused with its line. No chain needed."""

import json

from click.testing import CliRunner

from sesh.cli.main import main
from sesh.rules.merkle_claims import leaf_hash, verify_proof

A = "0x" + "11" * 20
B = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"


def test_build__prints_root_and_total__and_writes_verifiable_proofs(tmp_path):
    csv_path = tmp_path / "snapshot.csv"
    csv_path.write_text(f"old_address,new_address,amount\nLa,{A},1.5\nLb,{B},2\nLc,{A},0.25\n")
    proofs = tmp_path / "proofs.json"
    result = CliRunner().invoke(
        main, ["migrate", "tokens", "build", str(csv_path), "--proofs", str(proofs)]
    )
    assert result.exit_code == 0, result.output
    document = json.loads(proofs.read_text())
    assert f"merkle root: {document['merkle_root']}" in result.output
    assert "3,750,000,000 units" in result.output.replace("3750000000", "3,750,000,000")
    assert document["total"] == 3_750_000_000
    root = bytes.fromhex(document["merkle_root"][2:])
    for claim in document["claims"]:
        leaf = leaf_hash(
            claim["index"],
            bytes.fromhex(claim["old_account"][2:]),
            claim["claimant"],
            claim["amount"],
        )
        proof = [bytes.fromhex(p[2:]) for p in claim["proof"]]
        assert verify_proof(root, leaf, proof)
    assert [c["old_address"] for c in document["claims"]] == ["La", "Lb", "Lc"]


def test_build__a_bad_row__is_refused_with_its_line_and_writes_nothing(tmp_path):
    csv_path = tmp_path / "snapshot.csv"
    csv_path.write_text(f"La,{A},1\nLb,not-an-address,2\n")
    proofs = tmp_path / "proofs.json"
    result = CliRunner().invoke(
        main, ["migrate", "tokens", "build", str(csv_path), "--proofs", str(proofs)]
    )
    assert result.exit_code != 0
    assert "line 2" in result.output and "not an Ethereum address" in result.output
    assert not proofs.exists()
