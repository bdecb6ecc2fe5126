"""A robot's ROS 2 stack on the team overlay: the teamwire agent, then a demo talker whose DDS
discovery uses the team's unicast peers (WireGuard carries no multicast).

Run with the team's environment, so every process gets ROS_DOMAIN_ID, ROS_STATIC_PEERS,
CYCLONEDDS_URI and FASTRTPS_DEFAULT_PROFILES_FILE. From a colcon workspace:
    teamwire exec -- ros2 launch teamwire_ros robot_ros2.launch.py
or from the source tree:
    teamwire exec -- ros2 launch /path/to/teamwire/launch/teamwire_ros/launch/robot_ros2.launch.py
As root, or as a member of the teamwire group (the agent socket's group); only root can start an
agent when none runs. DDS processes read their peer file only when they start: the talker starts
once wait_for_overlay has seen the team joined, its interface up and its ROS environment written;
if that does not happen within overlay_timeout seconds, the launch shuts down saying why.
"""
import os

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, ExecuteProcess, RegisterEventHandler, Shutdown
from launch.event_handlers import OnProcessExit
from launch.substitutions import LaunchConfiguration

HERE = os.path.dirname(os.path.abspath(__file__))


def node(name):
    """A script of the package's nodes/: beside launch/ in the source tree, or in
    PREFIX/lib/teamwire_ros once installed (the launch file is in PREFIX/share/teamwire_ros/launch)."""
    source = os.path.join(HERE, "..", "nodes", name)
    installed = os.path.join(HERE, "..", "..", "..", "lib", "teamwire_ros", name)
    return os.path.normpath(source if os.path.exists(source) else installed)


def generate_launch_description():
    state = LaunchConfiguration("state")
    # Starts the agent only as root when none runs; otherwise says why and keeps the launch company.
    agent = ExecuteProcess(cmd=[node("agent"), "--state", state], name="teamwire_agent", output="log",
                           respawn=True, respawn_delay=2.0)
    wait_for_overlay = ExecuteProcess(
        cmd=[node("wait_for_overlay"), "--state", state, "--team", LaunchConfiguration("team"),
             "--timeout", LaunchConfiguration("overlay_timeout")],
        name="wait_for_overlay", output="screen")
    # The package's rclpy talker (any ROS 2 node of the robot's goes here the same way).
    talker = ExecuteProcess(cmd=[node("ros2_talker")], name="talker", output="screen")

    def after_wait(event, context):
        if event.returncode == 0:
            return [talker]
        return [Shutdown(reason="the team's overlay is not up (wait_for_overlay said why)")]

    return LaunchDescription([
        DeclareLaunchArgument("state", default_value="/var/lib/teamwire", description="the agent's state directory"),
        DeclareLaunchArgument("team", default_value="", description="the team to wait for (default: the only team joined)"),
        DeclareLaunchArgument("overlay_timeout", default_value="30", description="seconds to wait for the overlay"),
        agent,
        wait_for_overlay,
        RegisterEventHandler(OnProcessExit(target_action=wait_for_overlay, on_exit=after_wait)),
    ])
