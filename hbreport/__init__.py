"""hbreport: reporting for the Hubei poverty-alleviation plan (湖北省脱贫攻坚规划 2016—2020)."""

__version__ = "0.1.0"
