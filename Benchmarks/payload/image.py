#!/usr/bin/env python3
"""1 MiB sensor_msgs/Image samples with rclpy, for the payload benchmark and campus tests.
  image.py pub RATE SECONDS QOS   waits up to 20 s for a subscriber, publishes 1024x1024 mono8
                                  images at RATE Hz for SECONDS, prints "sent N", lingers 3 s
  image.py sub RATE SECONDS QOS   prints "heard: SEQ" for each image, exits after SECONDS
QOS: reliable (keep last 10, ROS 2's default) or best_effort (the sensor-data profile).
Run under `teamwire exec` so the team's DDS files apply."""
import sys
import time

import rclpy
from rclpy.qos import QoSProfile, qos_profile_sensor_data
from sensor_msgs.msg import Image

SIDE = 1024  # 1024 x 1024 x 1 byte = 1 MiB


def main():
    role, rate, seconds, qos = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    profile = QoSProfile(depth=10) if qos == "reliable" else qos_profile_sensor_data
    rclpy.init()
    node = rclpy.create_node("teamwire_image_" + role)
    if role == "sub":
        node.create_subscription(Image, "teamwire/image",
                                 lambda m: print("heard:", m.header.frame_id, len(m.data), flush=True), profile)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            rclpy.spin_once(node, timeout_sec=0.1)
        return
    pub = node.create_publisher(Image, "teamwire/image", profile)
    end = time.monotonic() + 20
    while pub.get_subscription_count() == 0 and time.monotonic() < end:
        rclpy.spin_once(node, timeout_sec=0.1)
    print("matched", pub.get_subscription_count(), flush=True)
    msg = Image(height=SIDE, width=SIDE, encoding="mono8", step=SIDE)
    msg.data = bytes(SIDE * SIDE)
    start, n = time.monotonic(), 0
    while n < int(rate * seconds):
        delay = start + n / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        n += 1
        msg.header.frame_id = str(n)
        pub.publish(msg)
    print("sent", n, "in", round(time.monotonic() - start, 2), "s", flush=True)
    time.sleep(3)  # reliable repairs finish before the writer goes


if __name__ == "__main__":
    main()
