// IdleScreen.qml — shown when nothing is playable: who this is and why.
// Plain text on the window colour: cheap to draw, readable from afar.
import QtQuick

Item {
    id: root
    property string deviceId
    property string statusLine

    Column {
        anchors.centerIn: parent
        spacing: root.height / 40
        Text {
            anchors.horizontalCenter: parent.horizontalCenter
            text: "Stoa"
            color: "#e8eef4"
            font.pixelSize: Math.max(16, root.height / 10)
        }
        Text {
            anchors.horizontalCenter: parent.horizontalCenter
            text: root.deviceId
            color: "#9fb3c8"
            font.pixelSize: Math.max(12, root.height / 30)
        }
        Text {
            anchors.horizontalCenter: parent.horizontalCenter
            text: root.statusLine
            color: "#9fb3c8"
            font.pixelSize: Math.max(12, root.height / 40)
        }
    }
}
