"""StatisticsGen with its reads spread over the workers on Flink and Spark."""
