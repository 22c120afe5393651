"""The price-feed module is exercised through both contracts that use it."""

from tests.unit.names.conftest import register, sns  # noqa: F401
from tests.unit.pro.conftest import paying, pro  # noqa: F401
from tests.unit.products import *  # noqa: F403
