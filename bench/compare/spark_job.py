"""The PySpark baseline of bench/transform-compare.ts: the brief's metrics from a dataset's raw
files, local[2], in the SQL of bench/compare/metrics-sql.ts. Every metric is materialised (cached
and counted), as the project's transform writes all of them. Prints one JSON line: timings and the
five contract metrics.

    python spark_job.py <job.json>
"""
import json
import sys
import time

t0 = time.time()
from pyspark.sql import SparkSession  # noqa: E402

job = json.load(open(sys.argv[1]))
spark = (SparkSession.builder.master("local[2]").appName("transform-compare")
         .config("spark.sql.session.timeZone", "UTC").config("spark.ui.enabled", "false")
         .config("spark.sql.shuffle.partitions", "4").config("spark.driver.memory", "4g").getOrCreate())
spark.sparkContext.setLogLevel("ERROR")
t1 = time.time()
d = job["dir"]
spark.read.schema("event_id string, event_name string, user_id string, session_id string, product_id string, order_id string, price string, ts string") \
    .json(f"{d}/events.jsonl").createOrReplaceTempView("events_raw")
spark.read.schema("order_id string, user_id string, status string, created_at string, updated_at string, "
                  "lines array<struct<product_id:string,quantity:int,unit_price:string>>") \
    .json(f"{d}/orders.jsonl").createOrReplaceTempView("orders_raw")
cols = "CustomerID string, OrderID string, OrderDate string, ProductID string, ProductName string, Quantity string, Price string"
csv = spark.read.option("header", "true").schema(cols).csv(f"{d}/purchases/*.csv")
js = spark.read.schema(cols).json(f"{d}/purchases/*.jsonl")
csv.unionByName(js).createOrReplaceTempView("purchases_raw")
spark.read.option("header", "true").csv(f"{d}/products.csv").createOrReplaceTempView("products_raw")
for name, sql in job["views"]:
    spark.sql(sql).createOrReplaceTempView(name)
for name, sql in job["metrics"]:
    df = spark.sql(sql.replace(" as varchar)", " as string)")).cache()
    df.count()
    df.createOrReplaceTempView(name)
t2 = time.time()
out = {name: [r.asDict() for r in spark.sql(sql.replace(" as varchar)", " as string)")).collect()] for name, sql in job["reads"].items()}
print(json.dumps({"startSeconds": t1 - t0, "jobSeconds": t2 - t1, "totalSeconds": t2 - t0, "contract": out}, default=str))
spark.stop()
