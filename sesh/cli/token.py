"""`sesh balance` and `sesh token transfer|approve`: what an account holds and lets the
contracts pull, and moving SESH."""

from __future__ import annotations

import click

from sesh.cli.common import (
    ADDRESS,
    ReadCommand,
    Session,
    chain_command,
    console,
    dry_run_option,
    json_amount,
    json_option,
    parse_amount,
    print_json,
    read_options,
    send,
    sesh,
    want_json,
)

# The contracts that pull SESH, by manifest name, and what they pull it for.
SPENDERS = {
    "ServiceNodeStaking": "stakes",
    "SessionNameService": "names",
    "SessionPro": "Pro",
}


@click.command("balance", cls=ReadCommand)
@read_options
@click.option("--address", type=ADDRESS, help="Whose balances (default: the account's).")
@json_option
def balance(network, account_alias, manifest_path, deployments_dir, address):
    """Show ETH (for gas) and SESH held, and what each contract may pull (allowances).

    Example: sesh balance --account TEST::2
    """
    session = Session(network, account_alias, manifest_path, deployments_dir)
    who = session.address_or_account(address)
    token = session.suite.token
    eth = session.eth_balance(who)
    held = token.balance(who)
    allowances = {
        name: token.allowance(who, session.suite.manifest.address(name))
        for name in SPENDERS
        if name in session.suite.manifest.contracts
    }
    if want_json():
        print_json(
            {
                "account": who,
                "eth": str(eth / 10**18),
                "eth_wei": str(eth),
                "sesh": json_amount(held),
                "allowances_sesh": {name: json_amount(v) for name, v in allowances.items()},
            }
        )
        return
    console.print(f"account  {who}")
    console.print(f"ETH      {eth / 10**18:.8f}".rstrip("0").rstrip(".") + " ETH (pays gas)")
    console.print(f"SESH     {sesh(held)}")
    for name, value in allowances.items():
        console.print(f"allowance to {name} ({SPENDERS[name]}): {sesh(value)}")


@click.group()
def token() -> None:
    """Move SESH and set allowances.

    Example: sesh token transfer 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC 100
    """


@chain_command(token, "transfer")
@click.argument("to", type=ADDRESS)
@click.argument("amount")
@dry_run_option
def transfer(network, account_alias, manifest_path, deployments_dir, to, amount, dry_run):
    """Send AMOUNT SESH to the address TO (EIP-55 checksummed).

    Example: sesh token transfer 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC 100
    """
    session = Session(network, account_alias, manifest_path, deployments_dir)
    value = parse_amount(amount)
    tx = session.suite.token.transfer(to, value, session.account)
    send(tx, dry_run, f"transfer {sesh(value)} to {to}")


@chain_command(token, "approve")
@click.argument("spender")
@click.argument("amount")
@dry_run_option
def approve(network, account_alias, manifest_path, deployments_dir, spender, amount, dry_run):
    """Let SPENDER (an address, or a contract's name in the manifest such as
    ServiceNodeStaking) pull up to AMOUNT SESH from the account; 0 revokes.

    Example: sesh token approve ServiceNodeStaking 25000
    """
    from sesh.contracts.base import ContractError
    from sesh.contracts.inputs import check_address

    session = Session(network, account_alias, manifest_path, deployments_dir)
    manifest = session.suite.manifest
    if spender in manifest.contracts:
        address = manifest.address(spender)
    else:
        try:
            address = check_address(spender, "spender")
        except ContractError as exc:
            raise click.BadParameter(str(exc), param_hint="SPENDER") from None
    value = parse_amount(amount)
    tx = session.suite.token.approve(address, value, session.account)
    send(tx, dry_run, f"approve {address} to pull {sesh(value)}")
