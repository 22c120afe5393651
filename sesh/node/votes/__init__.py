"""Network votes: peer tests, the vote rules, signing, the aggregator, the votes database
and the transactions that carry the result on chain."""
