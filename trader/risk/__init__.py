"""The risk manager and its parts: limits, circuit breaker, safe mode, kill switch and inventory."""

from trader.risk.breaker import BreakerState, CircuitBreaker, market_outcome
from trader.risk.config import BreakerConfig, RiskConfig, RiskLimits, SafeModeConfig, VolatilityPolicy
from trader.risk.inventory import InventoryReport, Shortfall, Transfer, assess
from trader.risk.kill import KillSwitch
from trader.risk.manager import Portfolio, RiskManager, RiskStatus
from trader.risk.safe_mode import SafeMode, SafeModeCause, SafeModeStatus

__all__ = [
    "BreakerConfig",
    "BreakerState",
    "CircuitBreaker",
    "InventoryReport",
    "KillSwitch",
    "Portfolio",
    "RiskConfig",
    "RiskLimits",
    "RiskManager",
    "RiskStatus",
    "SafeMode",
    "SafeModeCause",
    "SafeModeConfig",
    "SafeModeStatus",
    "Shortfall",
    "Transfer",
    "VolatilityPolicy",
    "assess",
    "market_outcome",
]
