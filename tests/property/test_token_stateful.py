"""SESH against a Python model: every step the contract must agree with the model.

Invariants after every step: the sum of all balances equals the total supply; every
balance, allowance and nonce equals the model's; nothing outside the model moves."""

import boa
from eth_account import Account
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from sesh.contracts.permit import permit_message
from sesh.rules.units import TOTAL_SUPPLY

from .boa_helpers import deployer_for

MAX_UINT256 = 2**256 - 1
ROLES = ["genesis", "operator", "delegator", "keeper", "attacker"]
KEYS = {role: Account.from_key(bytes([i + 1]) * 32) for i, role in enumerate(ROLES)}
ADDRESSES = {role: KEYS[role].address for role in ROLES}

roles = st.sampled_from(ROLES)
amounts = st.one_of(
    st.integers(min_value=0, max_value=10**12),
    st.integers(min_value=0, max_value=TOTAL_SUPPLY),
    st.just(MAX_UINT256),
)


class TokenModel:
    def __init__(self):
        self.balances = dict.fromkeys(ROLES, 0)
        self.balances["genesis"] = TOTAL_SUPPLY
        self.allowances: dict[tuple[str, str], int] = {}
        self.nonces = dict.fromkeys(ROLES, 0)
        self.total_supply = TOTAL_SUPPLY

    def allowance(self, owner, spender):
        return self.allowances.get((owner, spender), 0)

    def spend(self, owner, spender, amount):
        current = self.allowance(owner, spender)
        if current != MAX_UINT256:
            self.allowances[(owner, spender)] = current - amount


class TokenMachine(RuleBasedStateMachine):
    @initialize()
    def deploy(self):
        self.token = deployer_for("SessionToken.vy").deploy(
            ADDRESSES["genesis"], "0x" + "00" * 20, "0x" + "00" * 20
        )
        self.model = TokenModel()

    def _expect(self, ok: bool, call):
        """Run `call`; it must succeed exactly when the model says it should."""
        if ok:
            call()
        else:
            with boa.reverts():
                call()

    @rule(sender=roles, to=roles, amount=amounts)
    def transfer(self, sender, to, amount):
        ok = self.model.balances[sender] >= amount
        with boa.env.prank(ADDRESSES[sender]):
            self._expect(ok, lambda: self.token.transfer(ADDRESSES[to], amount))
        if ok:
            self.model.balances[sender] -= amount
            self.model.balances[to] += amount

    @rule(owner=roles, spender=roles, amount=amounts)
    def approve(self, owner, spender, amount):
        with boa.env.prank(ADDRESSES[owner]):
            self.token.approve(ADDRESSES[spender], amount)
        self.model.allowances[(owner, spender)] = amount

    @rule(spender=roles, owner=roles, to=roles, amount=amounts)
    def transfer_from(self, spender, owner, to, amount):
        ok = self.model.allowance(owner, spender) >= amount and self.model.balances[owner] >= amount
        with boa.env.prank(ADDRESSES[spender]):
            self._expect(
                ok, lambda: self.token.transferFrom(ADDRESSES[owner], ADDRESSES[to], amount)
            )
        if ok:
            self.model.spend(owner, spender, amount)
            self.model.balances[owner] -= amount
            self.model.balances[to] += amount

    @rule(owner=roles, amount=amounts)
    def burn(self, owner, amount):
        ok = self.model.balances[owner] >= amount
        with boa.env.prank(ADDRESSES[owner]):
            self._expect(ok, lambda: self.token.burn(amount))
        if ok:
            self.model.balances[owner] -= amount
            self.model.total_supply -= amount

    @rule(spender=roles, owner=roles, amount=amounts)
    def burn_from(self, spender, owner, amount):
        ok = self.model.allowance(owner, spender) >= amount and self.model.balances[owner] >= amount
        with boa.env.prank(ADDRESSES[spender]):
            self._expect(ok, lambda: self.token.burn_from(ADDRESSES[owner], amount))
        if ok:
            self.model.spend(owner, spender, amount)
            self.model.balances[owner] -= amount
            self.model.total_supply -= amount

    @rule(
        owner=roles,
        signer=roles,
        spender=roles,
        amount=amounts,
        deadline_offset=st.integers(min_value=-100, max_value=10_000),
        nonce_offset=st.sampled_from([0, 0, 0, 1, -1]),
        chain_offset=st.sampled_from([0, 0, 0, 1]),
        submitter=roles,
    )
    def permit(
        self, owner, signer, spender, amount, deadline_offset, nonce_offset, chain_offset, submitter
    ):
        now = boa.env.evm.patch.timestamp
        deadline = max(0, now + deadline_offset)
        nonce = self.model.nonces[owner] + nonce_offset
        if nonce < 0:
            return
        message = permit_message(
            token_name="Session Token",
            token_version="1",
            chain_id=boa.env.evm.patch.chain_id + chain_offset,
            token=self.token.address,
            owner=ADDRESSES[owner],
            spender=ADDRESSES[spender],
            value=amount,
            nonce=nonce,
            deadline=deadline,
        )
        sig = KEYS[signer].sign_message(message)
        ok = signer == owner and nonce_offset == 0 and chain_offset == 0 and deadline >= now
        with boa.env.prank(ADDRESSES[submitter]):
            self._expect(
                ok,
                lambda: self.token.permit(
                    ADDRESSES[owner],
                    ADDRESSES[spender],
                    amount,
                    deadline,
                    sig.v,
                    sig.r.to_bytes(32, "big"),
                    sig.s.to_bytes(32, "big"),
                ),
            )
        if ok:
            self.model.allowances[(owner, spender)] = amount
            self.model.nonces[owner] += 1

    @rule(seconds=st.integers(min_value=1, max_value=3 * 86_400))
    def time_passes(self, seconds):
        boa.env.time_travel(seconds=seconds)

    @invariant()
    def supply_is_the_sum_of_balances(self):
        balances = [self.token.balanceOf(ADDRESSES[r]) for r in ROLES]
        assert sum(balances) == self.token.totalSupply() == self.model.total_supply

    @invariant()
    def balances_allowances_and_nonces_match_the_model(self):
        for owner in ROLES:
            assert self.token.balanceOf(ADDRESSES[owner]) == self.model.balances[owner]
            assert self.token.nonces(ADDRESSES[owner]) == self.model.nonces[owner]
            for spender in ROLES:
                assert self.token.allowance(ADDRESSES[owner], ADDRESSES[spender]) == (
                    self.model.allowance(owner, spender)
                )


TestToken = TokenMachine.TestCase
