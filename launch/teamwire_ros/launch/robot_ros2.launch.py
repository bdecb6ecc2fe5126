"""A robot's ROS 2 stack on the team overlay: the teamwire agent, then a demo talker whose DDS
discovery uses the team's unicast peers (WireGuard carries no multicast).

Run with the team's environment, so every process gets ROS_DOMAIN_ID, ROS_STATIC_PEERS,
CYCLONEDDS_URI and FASTRTPS_DEFAULT_PROFILES_FILE:
    sudo -E teamwire exec -- ros2 launch /path/to/teamwire/launch/teamwire_ros/launch/robot_ros2.launch.py
DDS processes read their peer file only when they start: start them after the agent has the
overlay up (this launch waits for it with `teamwire join --wait`-like polling of `teamwire status`).
"""
import os

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, ExecuteProcess, RegisterEventHandler
from launch.event_handlers import OnProcessExit
from launch.substitutions import LaunchConfiguration

NODES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "nodes")


def generate_launch_description():
    state = LaunchConfiguration("state")
    agent = ExecuteProcess(
        # Starts the agent unless one already runs (same script as the ROS 1 launch's node).
        cmd=["sh", "-c", 'teamwire status --state "$0" >/dev/null 2>&1 && exec sleep infinity; exec teamwire agent --state "$0"', state],
        name="teamwire_agent", output="log", respawn=True)
    # Waits until the agent answers and the team's interface is up, then ends.
    wait_for_overlay = ExecuteProcess(
        cmd=["sh", "-c", 'for i in $(seq 100); do teamwire status --state "$0" >/dev/null 2>&1 && exit 0; sleep 0.2; done; exit 1', state],
        name="wait_for_overlay", output="screen")
    # The package's rclpy talker (any ROS 2 node of the robot's goes here the same way).
    talker = ExecuteProcess(cmd=["python3", os.path.join(NODES, "ros2_talker")], name="talker", output="screen")
    return LaunchDescription([
        DeclareLaunchArgument("state", default_value="/var/lib/teamwire", description="the agent's state directory"),
        agent,
        wait_for_overlay,
        RegisterEventHandler(OnProcessExit(target_action=wait_for_overlay, on_exit=[talker])),
    ])
