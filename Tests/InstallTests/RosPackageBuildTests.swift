import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// launch/teamwire_ros is one package for both ROS generations: built for real with colcon
/// (ROS 2's ament_cmake, from the PyPI wheels in /opt/teamwire-colcon) and with catkin_make
/// (Debian's catkin, ROS 1), each in a fresh workspace, checked where each ROS looks for things.
@Suite("The ROS package builds with colcon (ROS 2) and catkin (ROS 1)")
struct RosPackageBuildTests {
    static let venv = RosPackage.colconVenv

    /// colcon from the venv, cmake from Debian, the ament_cmake wheels on CMAKE_PREFIX_PATH.
    static func colconEnv(rosVersion: String) -> [String: String] {
        ["PATH": "\(venv)/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8",
         "ROS_VERSION": rosVersion, "CMAKE_PREFIX_PATH": venv]
    }

    static func executable(_ path: String) -> Bool { access(path, X_OK) == 0 }

    @Test("colcon sees an ament_cmake package under ROS 2 and a catkin package under ROS 1")
    func colconBuildTypes() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.venv + "/bin/colcon"), "scripts/setup-debian installs colcon in \(Self.venv)")
        let ws = try RosPackage.workspace("colcon-list")
        defer { try? FileManager.default.removeItem(atPath: ws) }
        for (version, type) in [("2", "(ros.ament_cmake)"), ("1", "(ros.catkin)")] {
            let r = try CleanSpawn.run(["env", "-C", ws, "colcon", "list"], environment: Self.colconEnv(rosVersion: version))
            #expect(r.status == 0, "\(r.out)")
            #expect(r.out.contains("teamwire_ros") && r.out.contains(type), "ROS_VERSION=\(version): \(r.out)")
        }
    }

    @Test("colcon build (ROS 2): launch file, node executables, package.xml and the ament index marker installed; ament finds them")
    func colconBuild() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.venv + "/bin/colcon"), "scripts/setup-debian installs colcon in \(Self.venv)")
        let ws = try RosPackage.workspace("colcon")
        defer { try? FileManager.default.removeItem(atPath: ws) }
        let start = ContinuousClock.now
        let build = try CleanSpawn.run(["env", "-C", ws, "colcon", "build", "--event-handlers", "console_direct+"],
                                           environment: Self.colconEnv(rosVersion: "2"))
        let took = RosPackage.seconds(since: start)
        try #require(build.status == 0, "colcon build failed:\n\(build.out)")
        print("colcon build of teamwire_ros took \(String(format: "%.1f", took)) s")

        let prefix = ws + "/install/teamwire_ros"
        let share = prefix + "/share/teamwire_ros"
        #expect(FileManager.default.fileExists(atPath: share + "/launch/robot_ros2.launch.py"))
        #expect(FileManager.default.fileExists(atPath: share + "/package.xml"))
        #expect(FileManager.default.fileExists(atPath: prefix + "/share/ament_index/resource_index/packages/teamwire_ros"))
        for node in ["agent", "wait_for_overlay", "ros2_talker", "ros2_listener"] {
            #expect(Self.executable(prefix + "/lib/teamwire_ros/" + node), "lib/teamwire_ros/\(node) is not an installed executable")
        }
        // The ROS 1 launch files are not ROS 2's.
        #expect(!FileManager.default.fileExists(atPath: share + "/launch/robot.launch"))
        // The launch file finds its nodes from share/teamwire_ros/launch at ../../../lib/teamwire_ros.
        let fromLaunch = URL(fileURLWithPath: share + "/launch/../../../lib/teamwire_ros/wait_for_overlay").standardized.path
        #expect(Self.executable(fromLaunch), "\(fromLaunch)")

        // What `ros2 launch teamwire_ros ...` and `ros2 run teamwire_ros ...` do: the workspace's
        // setup script puts the package on AMENT_PREFIX_PATH; ament_index_python (the ROS 2 venv's)
        // finds its share directory and executables through the index marker.
        let ros2Python = "/opt/teamwire-ros2/bin/python"
        try #require(FileManager.default.isExecutableFile(atPath: ros2Python), "scripts/setup-debian installs ROS 2 in /opt/teamwire-ros2")
        let lookup = """
            . "$0/install/setup.sh" && exec "$1" -c 'from ament_index_python.packages import get_package_share_directory, get_package_prefix
            print(get_package_share_directory("teamwire_ros")); print(get_package_prefix("teamwire_ros"))'
            """
        let found = try CleanSpawn.run(["sh", "-c", lookup, ws, ros2Python], environment: Self.colconEnv(rosVersion: "2"))
        #expect(found.status == 0, "\(found.out)")
        #expect(found.out.split(separator: "\n").map(String.init) == [share, prefix], "\(found.out)")
    }

    @Test("catkin_make install (ROS 1): devel and install spaces; roslaunch runs the installed agent node")
    func catkinBuild() throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/catkin_make"), "scripts/setup-debian installs Debian's catkin")
        let ws = try RosPackage.workspace("catkin")
        defer { try? FileManager.default.removeItem(atPath: ws) }
        // A ROS 1 robot's environment: Debian's python3 (catkin_pkg), no ROS_VERSION (Debian's ROS
        // sets none; the install space's setup script sets 1).
        let env = ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": ws, "LANG": "C.UTF-8", "ROS_HOME": ws + "/ros"]
        let start = ContinuousClock.now
        let build = try CleanSpawn.run(["catkin_make", "-C", ws, "install"], environment: env)
        let took = RosPackage.seconds(since: start)
        try #require(build.status == 0, "catkin_make failed:\n\(build.out)")
        print("catkin_make install of teamwire_ros took \(String(format: "%.1f", took)) s")

        #expect(FileManager.default.fileExists(atPath: ws + "/devel/share/teamwire_ros/cmake/teamwire_rosConfig.cmake"))
        #expect(FileManager.default.fileExists(atPath: ws + "/devel/setup.sh"))
        let share = ws + "/install/share/teamwire_ros"
        for file in ["package.xml", "launch/robot.launch", "launch/laptop.launch"] {
            #expect(FileManager.default.fileExists(atPath: share + "/" + file), "install/share/teamwire_ros/\(file) missing")
        }
        for node in ["agent", "wait_for_overlay"] {
            #expect(Self.executable(ws + "/install/lib/teamwire_ros/" + node), "install/lib/teamwire_ros/\(node) missing")
        }
        #expect(!FileManager.default.fileExists(atPath: share + "/launch/robot_ros2.launch.py"))

        // roslaunch from the install space: the agent node is the installed script.
        let check = """
            . "$0/install/setup.sh" && export ROS_PACKAGE_PATH="$ROS_PACKAGE_PATH:/usr/share" ROS_IP=127.0.0.1 &&
            roslaunch --files teamwire_ros robot.launch && roslaunch --args /teamwire_agent teamwire_ros robot.launch
            """
        let r = try CleanSpawn.run(["sh", "-c", check, ws], environment: env)
        #expect(r.status == 0, "\(r.out)")
        #expect(r.out.contains(share + "/launch/robot.launch"), "\(r.out)")
        #expect(r.out.contains(ws + "/install/lib/teamwire_ros/agent --state /var/lib/teamwire"), "\(r.out)")
    }
}
