"""The network's aggregate key on chain (BlsHarness, as the staking contract keeps it)
against a Python model: nodes join and leave, the network signs exit/removal digests
with some nodes not signing, attackers submit bad keys and bad signatures.

After every step: the on-chain aggregate equals the sum of the model's keys, and every
verification succeeds exactly when the model says it should."""

import boa
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from sesh.crypto import bls

from .boa_helpers import deployer_for

secrets = st.integers(min_value=1, max_value=bls.CURVE_ORDER - 1)
MESSAGE_BUILDERS = {
    "exit": bls.exit_message,
    "remove": bls.remove_message,
    "liquidate": bls.liquidate_message,
}
SIGNATURE_FAULTS = [
    None,
    None,
    None,
    "a non-signer's signature left out of the aggregate",
    "a signer left out of the aggregate",
    "a signer counted as non-signer too",
    "signed another digest",
    "signed with the proof-of-possession DST",
]


class AggregateModel:
    def __init__(self):
        self.keys: dict[int, bls.SecretKey] = {}
        self.next_id = 1

    def aggregate(self) -> bytes:
        if not self.keys:
            return bytes(128)
        return bls.aggregate_public_keys([k.public_key() for k in self.keys.values()]).to_eip2537()


class AggregateMachine(RuleBasedStateMachine):
    @initialize()
    def deploy(self):
        self.harness = deployer_for("mocks/BlsHarness.vy").deploy()
        self.model = AggregateModel()

    @rule(secret=secrets)
    def operator_adds_a_node(self, secret):
        node_id = self.model.next_id
        self.model.next_id += 1
        key = bls.SecretKey(secret)
        self.harness.add_key(node_id, key.public_key().to_eip2537())
        self.model.keys[node_id] = key

    @rule(
        fault=st.sampled_from(
            ["infinity", "off the curve", "not in the subgroup", "not a field element"]
        ),
        secret=secrets,
    )
    def attacker_adds_a_bad_key(self, fault, secret):
        good = bls.SecretKey(secret).public_key().to_eip2537()
        if fault == "infinity":
            bad, reason = bytes(128), "bls: public key is the point at infinity"
        elif fault == "off the curve":
            bad, reason = good[:-1] + bytes([good[-1] ^ 1]), "bls: public key is not on the curve"
        elif fault == "not in the subgroup":
            # (0, 2) is on the curve y^2 = x^3 + 4 but not of order r.
            bad = bytes(64) + (2).to_bytes(64, "big")
            reason = "bls: public key is not in the subgroup"
        else:
            bad = (int.from_bytes(good[:64], "big") + bls.FIELD_MODULUS).to_bytes(64, "big")
            bad += good[64:]
            reason = "bls: public key coordinate is not a field element"
        with boa.reverts(reason):
            self.harness.add_key(self.model.next_id, bad)

    @precondition(lambda self: self.model.keys)
    @rule(data=st.data())
    def a_node_leaves(self, data):
        node_id = data.draw(st.sampled_from(sorted(self.model.keys)))
        self.harness.remove_key(node_id)
        del self.model.keys[node_id]

    @precondition(lambda self: self.model.keys)
    @rule(
        data=st.data(),
        action=st.sampled_from(sorted(MESSAGE_BUILDERS)),
        timestamp=st.integers(min_value=0, max_value=2**40),
        fault=st.sampled_from(SIGNATURE_FAULTS),
    )
    def network_signs(self, data, action, timestamp, fault):
        ids = sorted(self.model.keys)
        non_signers = sorted(data.draw(st.sets(st.sampled_from(ids), max_size=len(ids) - 1)))
        signers = [i for i in ids if i not in non_signers]
        target = data.draw(st.sampled_from(ids))
        build = MESSAGE_BUILDERS[action]
        digest = build(boa.env.evm.patch.chain_id, self.harness.address, target, timestamp)
        assert digest == getattr(self.harness, f"{action}_message")(target, timestamp)

        signed_digest, dst = digest, bls.DST_SIG
        contributing = list(signers)
        claimed_non_signers = list(non_signers)
        if fault == "a non-signer's signature left out of the aggregate" and non_signers:
            claimed_non_signers = claimed_non_signers[1:]
        elif fault == "a signer left out of the aggregate" and len(signers) > 1:
            contributing = contributing[1:]
        elif fault == "a signer counted as non-signer too":
            claimed_non_signers = sorted(set(claimed_non_signers) | {signers[0]})
            if len(claimed_non_signers) == len(ids):
                return  # nobody would be left to sign
        elif fault == "signed another digest":
            signed_digest = build(
                boa.env.evm.patch.chain_id, self.harness.address, target, timestamp + 1
            )
        elif fault == "signed with the proof-of-possession DST":
            dst = bls.DST_POP
        else:
            fault = None
        signature = bls.aggregate_signatures(
            [bls.sign(self.model.keys[i], signed_digest, dst) for i in contributing]
        )
        expected = fault is None
        assert (
            self.harness.verify_network(digest, signature.to_eip2537(), claimed_non_signers)
            is expected
        )
        # The same answer off chain, from the aggregate of the claimed signers' keys.
        claimed_signers = [i for i in ids if i not in claimed_non_signers]
        key = bls.aggregate_public_keys([self.model.keys[i].public_key() for i in claimed_signers])
        assert bls.verify(key, digest, signature) is expected

    @precondition(lambda self: len(self.model.keys) >= 2)
    @rule(data=st.data())
    def attacker_lists_non_signers_out_of_order(self, data):
        ids = sorted(self.model.keys)
        first, second = data.draw(st.sampled_from([(ids[1], ids[0]), (ids[0], ids[0])]))
        with boa.reverts("harness: non-signers not strictly increasing"):
            self.harness.verify_network(bytes(32), bytes(256), [first, second])

    @invariant()
    def aggregate_key_is_the_sum_of_the_model_keys(self):
        assert self.harness.aggregate_key() == self.model.aggregate()
        assert self.harness.key_count() == len(self.model.keys)

    @invariant()
    def every_registered_key_is_stored_as_given(self):
        for node_id, key in self.model.keys.items():
            assert self.harness.public_key(node_id) == key.public_key().to_eip2537()


TestAggregate = AggregateMachine.TestCase
