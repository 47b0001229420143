// Diagnostics.qml — the installer diagnostics screen: an overlay above playback.
// Readable from 3 m on a 1080p screen: sizes follow the stage height (body
// text ~27 px, the device id ~80 px at 1080 lines). A translucent panel with
// a margin all round, so content keeps playing (and visibly so) beneath it.
// Texts carry objectName "diag_<key>" (keys: player/diagnostics_text.h).
// No input handling here: the gestures are C++ (player/diagnostics_gestures.h).
import QtQuick

Item {
    id: root
    required property QtObject model
    visible: model.open
    readonly property real unit: Math.max(8, height / 40)   // body text size
    readonly property color ok: "#7ee08a"
    readonly property color warn: "#ffc857"
    readonly property color bad: "#ff6b6b"
    readonly property color text: "#eef3f8"
    readonly property color dim: "#9fb3c8"

    function levelColour(level) {
        return level === "ok" ? ok : level === "warn" ? warn : level === "bad" ? bad : text
    }

    Rectangle {
        id: panel
        objectName: "diagnosticsPanel"
        anchors.fill: parent
        anchors.margins: root.height * 0.04
        color: "#e6101822"
        radius: root.unit * 0.5
        border.color: "#40ffffff"
        border.width: 2

        Item {
            id: inner
            anchors.fill: parent
            anchors.margins: root.unit

            // --- Header: QR code, device id, version, headline.
            Rectangle {
                id: qrBox
                width: root.height * 0.26
                height: width
                color: "white"
                Image {
                    id: qr
                    objectName: "diag_qr"
                    anchors.centerIn: parent
                    source: root.model.qrSource
                    sourceSize: Qt.size(qrBox.width, qrBox.width)
                    smooth: false
                    cache: false
                }
            }
            Column {
                id: header
                anchors.left: qrBox.right
                anchors.leftMargin: root.unit * 1.2
                anchors.right: parent.right
                anchors.top: qrBox.top
                spacing: root.unit * 0.3
                Text {
                    text: "Device"
                    color: root.dim
                    font.pixelSize: root.unit
                }
                Text {
                    objectName: "diag_device_id"
                    width: parent.width
                    text: root.model.deviceId
                    color: root.text
                    font.pixelSize: root.unit * 3
                    font.bold: true
                    elide: Text.ElideRight
                }
                Text {
                    objectName: "diag_version"
                    text: "Stoa " + root.model.version
                    color: root.dim
                    font.pixelSize: root.unit * 1.1
                }
                Text {
                    objectName: "diag_headline"
                    width: parent.width
                    text: root.model.headline
                    color: root.levelColour(root.model.headlineLevel)
                    font.pixelSize: root.unit * 1.5
                    font.bold: true
                    elide: Text.ElideRight
                }
            }

            // --- Two columns of labelled rows.
            Row {
                id: columns
                anchors.top: qrBox.bottom
                anchors.topMargin: root.unit * 0.8
                anchors.left: parent.left
                anchors.right: parent.right
                spacing: root.unit * 1.5
                Repeater {
                    model: [root.model.leftSections, root.model.rightSections]
                    delegate: Column {
                        required property var modelData
                        width: (columns.width - columns.spacing) / 2
                        spacing: root.unit * 0.2
                        Repeater {
                            model: modelData
                            delegate: Column {
                                required property var modelData
                                width: parent.width
                                spacing: root.unit * 0.1
                                Text {
                                    text: modelData.title
                                    color: root.dim
                                    font.pixelSize: root.unit * 0.9
                                    font.bold: true
                                    font.capitalization: Font.AllUppercase
                                    topPadding: root.unit * 0.3
                                }
                                Repeater {
                                    model: modelData.rows
                                    delegate: Row {
                                        required property var modelData
                                        width: parent.width
                                        spacing: root.unit * 0.5
                                        Text {
                                            width: root.unit * 7.5
                                            text: modelData.label
                                            color: root.dim
                                            font.pixelSize: root.unit * 0.85
                                            elide: Text.ElideRight
                                        }
                                        Text {
                                            objectName: "diag_" + modelData.key
                                            width: parent.width - root.unit * 8
                                            text: modelData.value
                                            color: root.levelColour(modelData.level)
                                            font.pixelSize: root.unit * 0.85
                                            wrapMode: Text.Wrap
                                            maximumLineCount: 2
                                            elide: Text.ElideRight
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }

            // --- The last errors in plain words, and how to close.
            Column {
                anchors.left: parent.left
                anchors.right: parent.right
                anchors.bottom: footer.top
                anchors.bottomMargin: root.unit * 0.3
                spacing: root.unit * 0.1
                Text {
                    text: root.model.errors.length > 0 ? "Problems" : "No problems found"
                    color: root.model.errors.length > 0 ? root.bad : root.ok
                    font.pixelSize: root.unit * 0.9
                    font.bold: true
                    font.capitalization: Font.AllUppercase
                }
                Repeater {
                    model: root.model.errors.slice(0, 4)
                    delegate: Text {
                        required property string modelData
                        required property int index
                        objectName: "diag_error_" + index
                        width: parent.width
                        text: "• " + modelData
                        color: root.text
                        font.pixelSize: root.unit * 0.85
                        elide: Text.ElideRight
                    }
                }
            }
            Text {
                id: footer
                objectName: "diag_footer"
                anchors.bottom: parent.bottom
                anchors.right: parent.right
                text: root.model.footer
                color: root.dim
                font.pixelSize: root.unit * 0.75
            }
        }
    }
}
