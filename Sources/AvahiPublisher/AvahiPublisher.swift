import RosBridge
