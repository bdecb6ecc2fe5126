import Foundation
import Testing
import TestSupport

/// The launch files and package.xml as the ROS tools read them: roslaunch on the source tree as
/// the .deb lays it out (a directory of packages on ROS_PACKAGE_PATH, beside /usr/share), roslaunch-deps for
/// undeclared packages, catkin_pkg for the per-ROS dependencies, Python for the ROS 2 files (ROS 2's
/// launch package is not on PyPI or in Debian 12, so the .py launch file is compiled, not run).
@Suite("The ROS package's launch files and manifest")
struct RosLaunchFileTests {
    @Test("roslaunch reads robot.launch and laptop.launch and finds every node, the agent in the package's nodes/")
    func roslaunchResolvesNodes() throws {
        let robot = try RobotInstall("launch-files")
        defer { robot.remove() }
        let env = robot.env(["ROS_IP": "127.0.0.1"])
        let nodes = try CleanSpawn.run(["roslaunch", "--nodes", "teamwire_ros", "robot.launch"], environment: env, check: true).out
        #expect(nodes.split(separator: "\n").map(String.init).sorted() == ["/listener", "/talker", "/teamwire_agent"], "\(nodes)")
        let agent = try CleanSpawn.run(["roslaunch", "--args", "/teamwire_agent", "teamwire_ros", "robot.launch"], environment: env, check: true).out
        #expect(agent.contains(robot.node("agent") + " --state /var/lib/teamwire"), "\(agent)")
        let talker = try CleanSpawn.run(["roslaunch", "--args", "/talker", "teamwire_ros", "robot.launch"], environment: env, check: true).out
        #expect(talker.contains("rostopic pub -r 2 /chatter std_msgs/String"), "\(talker)")
        let laptop = try CleanSpawn.run(["roslaunch", "--args", "/laptop_listener", "teamwire_ros", "laptop.launch"], environment: env, check: true).out
        #expect(laptop.contains("rostopic echo /chatter"), "\(laptop)")
    }

    @Test("every package the ROS 1 launch files use is declared in package.xml (roslaunch-deps)")
    func launchDependenciesDeclared() throws {
        let robot = try RobotInstall("launch-deps")
        defer { robot.remove() }
        for file in ["robot.launch", "laptop.launch"] {
            let out = try CleanSpawn.run(["roslaunch-deps", "--warn", robot.dir + "/ros/teamwire_ros/launch/" + file], environment: robot.env(), check: true).out
            let missing = try #require(out.range(of: "Missing declarations:"), "\(out)")
            #expect(out[missing.upperBound...].trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(file): \(out)")
        }
    }

    /// package.xml as catkin_pkg (which catkin, colcon and rosdep use) evaluates it for a ROS_VERSION.
    static func manifest(rosVersion: String) throws -> [String] {
        let script = """
            import sys
            from catkin_pkg.package import parse_package
            p = parse_package(sys.argv[1])
            p.validate()
            p.evaluate_conditions({"ROS_VERSION": sys.argv[2]})
            def names(deps): return " ".join(sorted(d.name for d in deps if d.evaluated_condition))
            print(p.package_format, p.get_build_type(), names(p.buildtool_depends), names(p.exec_depends), sep="\\n")
            """
        return try run(["/usr/bin/python3", "-c", script, RosPackage.source + "/package.xml", rosVersion]).out
            .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    @Test("package.xml: catkin and ROS 1's run dependencies under ROS 1, ament_cmake and ROS 2's under ROS 2")
    func manifestPerRosVersion() throws {
        let ros1 = try Self.manifest(rosVersion: "1")
        #expect(Array(ros1.prefix(4)) == ["3", "catkin", "catkin", "python3 roslaunch rostopic std_msgs"], "\(ros1)")
        let ros2 = try Self.manifest(rosVersion: "2")
        #expect(Array(ros2.prefix(4)) == ["3", "ament_cmake", "ament_cmake", "launch python3 rclpy ros2launch std_msgs"], "\(ros2)")
    }

    @Test("the Python nodes and robot_ros2.launch.py compile, and every module they import is Python's or declared for ROS 2")
    func pythonFilesCompileAndDeclareImports() throws {
        let files = ["launch/robot_ros2.launch.py", "nodes/wait_for_overlay", "nodes/ros2_talker", "nodes/ros2_listener"]
            .map { RosPackage.source + "/" + $0 }
        let declared = try Self.manifest(rosVersion: "2")[3]
        let script = """
            import ast, sys
            for path in sys.argv[1:]:
                tree = ast.parse(open(path).read(), path)
                compile(tree, path, "exec")
                mods = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
                mods |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
                print(" ".join(sorted(m for m in mods if m not in sys.stdlib_module_names)))
            """
        let out = try run(["/usr/bin/python3", "-c", script] + files).out.split(separator: "\n", omittingEmptySubsequences: false)
        for (file, line) in zip(files, out) {
            for module in line.split(separator: " ") {
                #expect(declared.split(separator: " ").contains(module), "\(file) imports \(module), not an exec_depend for ROS 2 (\(declared))")
            }
        }
        // The launch file runs the package's scripts (nodes/agent, nodes/wait_for_overlay), no inline shell copy.
        let launch = try String(contentsOfFile: files[0], encoding: .utf8)
        #expect(launch.contains("node(\"agent\")") && launch.contains("node(\"wait_for_overlay\")"))
        #expect(!launch.contains("\"sh\", \"-c\""), "the ROS 2 launch file has its own shell copy of a node")
    }
}
