// Diagnostics.qml — the installer diagnostics screen: an overlay above playback.
//
// Read from 3 m (issue 15): letters of ~25 mm are ~1/20 of a 43" panel's
// short side, so sizes follow the stage's SHORTER side (a rotated stage is
// portrait; its short side is the same panel's short side, and 1/22 of its
// long side would ask for letters twice the size that 3 m needs). Main lines
// (device id, headline, section titles) are set at 1/20 of it, the rest at
// 1/27, so that the painted letters stay above 1/22 and 1/30 of it with
// margin (tests/player/tst_diagnostics_legibility.cpp measures the picture).
//
// Nothing is cut: no elision, every text wraps (anywhere, if a word is wider
// than its column). What does not fit flows into the next column, then onto
// the next page; pages turn by themselves every `pageSeconds` while open
// (the installer stands back, with no keyboard), and the footer says which
// page is shown. Page 1 carries the QR code, the device id, the headline and
// the problems; the detail sections follow.
//
// Texts carry objectName "diag_<key>" (keys: player/diagnostics_text.h;
// "diag_title_<section>", "diag_error_<n>" here) and their plain content in
// `value` (a row's `text` is its label and value, styled). A translucent
// panel with a margin all round, so content keeps playing (and visibly so)
// beneath it. No input handling here: the gestures are C++
// (player/diagnostics_gestures.h).
import QtQuick

Item {
    id: root
    required property QtObject model
    visible: model.open

    readonly property real side: Math.min(width, height)
    readonly property int mainPx: Math.max(12, Math.ceil(side / 20))
    readonly property int smallPx: Math.max(10, Math.ceil(side / 27))
    readonly property int gap: Math.round(smallPx * 0.45)   // between blocks
    readonly property int columnGap: smallPx * 2
    // The narrowest column worth having: ~38 characters of row text.
    readonly property real minColumnWidth: smallPx * 20
    // At most this many problems; the rest are counted on a last line.
    readonly property int maxProblems: 6

    property int page: 0               // shown page, 0-based
    readonly property int pageCount: flowLayout.pageCount
    property bool cycling: true        // pages turn by themselves (tests turn it off)
    property int pageSeconds: 12
    // True once every block has its place for the current content and size.
    readonly property bool laidOut: flowLayout.placement.length === blocks.length && !flowLayout.pending

    readonly property color ok: "#7ee08a"
    readonly property color warn: "#ffc857"
    readonly property color bad: "#ff6b6b"
    readonly property color text: "#eef3f8"
    readonly property color dim: "#a9bdd2"

    function levelColour(level) {
        return level === "ok" ? ok : level === "warn" ? warn : level === "bad" ? bad : text
    }
    function escaped(s) {
        return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    }

    // Everything below the header, in reading order: the problems, then the
    // sections (left ones first). A title keeps with the block after it.
    readonly property var blocks: {
        const out = []
        const errs = root.model.errors
        out.push({kind: "title", key: "title_problems", value: errs.length > 0 ? "Problems" : "No problems found",
                  level: errs.length > 0 ? "bad" : "ok"})
        const shown = errs.length > maxProblems ? maxProblems - 1 : errs.length
        for (let i = 0; i < shown; ++i)
            out.push({kind: "problem", key: "error_" + i, value: "• " + errs[i], level: ""})
        if (shown < errs.length)
            out.push({kind: "problem", key: "error_more", level: "warn",
                      value: "• and " + (errs.length - shown) + " more problem(s): fix the ones above first"})
        const sections = root.model.leftSections.concat(root.model.rightSections)
        for (const sec of sections) {
            out.push({kind: "title", key: "title_" + sec.title.toLowerCase(), value: sec.title, level: "dim"})
            for (const r of sec.rows)
                out.push({kind: "row", key: r.key, label: r.label, value: r.value, level: r.level})
        }
        return out
    }
    onBlocksChanged: flowLayout.schedule()
    onVisibleChanged: page = 0

    Timer {
        interval: root.pageSeconds * 1000
        running: root.visible && root.cycling && root.pageCount > 1
        repeat: true
        onTriggered: root.page = (root.page + 1) % root.pageCount
    }

    Rectangle {
        id: panel
        objectName: "diagnosticsPanel"
        anchors.fill: parent
        anchors.margins: Math.round(root.side * 0.03)
        color: "#e6101822"
        radius: root.smallPx * 0.4
        border.color: "#40ffffff"
        border.width: 2

        Item {
            id: inner
            objectName: "diagnosticsInner"
            anchors.fill: parent
            anchors.margins: Math.round(root.smallPx * 0.8)
            onWidthChanged: flowLayout.schedule()
            onHeightChanged: flowLayout.schedule()

            // --- Header, page 1 only: QR code, device id, version, headline.
            Item {
                id: header
                width: parent.width
                height: Math.max(qrBox.height, headerText.implicitHeight)
                visible: root.page === 0
                onHeightChanged: flowLayout.schedule()
                Rectangle {
                    id: qrBox
                    width: Math.round(root.side * 0.22)
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
                // Stacked by bindings, not a Column: a Column moves its
                // children and updates its height only when the scene is
                // polished, i.e. as the next frame is drawn, so the blocks'
                // placement below read a header height one frame old: that
                // frame showed the headline over the first title (seen in
                // portrait, where the headline wraps once the width settles).
                Item {
                    id: headerText
                    readonly property int spacing: Math.round(root.smallPx * 0.3)
                    anchors.left: qrBox.right
                    anchors.leftMargin: root.smallPx
                    anchors.right: parent.right
                    implicitHeight: headline.y + headline.height
                    Text {
                        id: deviceIdText
                        objectName: "diag_device_id"
                        readonly property string value: text
                        width: parent.width
                        text: root.model.deviceId
                        color: root.text
                        font.pixelSize: Math.round(root.mainPx * 1.3)
                        font.bold: true
                        wrapMode: Text.WrapAnywhere // ids have no spaces; a long one breaks, never cut
                    }
                    Text {
                        id: versionText
                        objectName: "diag_version"
                        readonly property string value: text
                        y: deviceIdText.height + headerText.spacing
                        width: parent.width
                        text: "Stoa " + root.model.version
                        color: root.dim
                        font.pixelSize: root.smallPx
                        wrapMode: Text.Wrap
                    }
                    Text {
                        id: headline
                        objectName: "diag_headline"
                        readonly property string value: text
                        y: versionText.y + versionText.height + headerText.spacing
                        width: parent.width
                        text: root.model.headline
                        color: root.levelColour(root.model.headlineLevel)
                        font.pixelSize: root.mainPx
                        font.bold: true
                        wrapMode: Text.Wrap
                    }
                }
            }

            // --- The blocks, flowed into columns and pages by flowLayout.
            Repeater {
                id: flow
                model: root.blocks
                delegate: Text {
                    required property var modelData
                    required property int index
                    readonly property var place: flowLayout.placement[index]
                    readonly property string value: modelData.value
                    readonly property bool keepWithNext: modelData.kind === "title"
                    objectName: "diag_" + modelData.key
                    x: place ? place.x : 0
                    y: place ? place.y : 0
                    width: flowLayout.columnWidth
                    visible: place !== undefined && place.page === root.page
                    textFormat: modelData.kind === "row" ? Text.StyledText : Text.PlainText
                    text: modelData.kind === "row"
                          ? "<font color=\"" + root.dim + "\">" + root.escaped(modelData.label) + "</font>&nbsp; "
                            + root.escaped(modelData.value)
                          : modelData.value
                    color: modelData.level === "dim" ? root.dim : root.levelColour(modelData.level)
                    font.pixelSize: modelData.kind === "title" ? root.mainPx : root.smallPx
                    font.bold: modelData.kind === "title"
                    wrapMode: Text.Wrap // at words, or anywhere when a word is wider than the column
                    onHeightChanged: flowLayout.schedule()
                }
            }

            // --- Page and how to close, at the foot of every page.
            Text {
                id: footer
                objectName: "diag_footer"
                readonly property string value: text
                anchors.bottom: parent.bottom
                width: parent.width
                text: (root.pageCount > 1 ? "Page " + (root.page + 1) + " of " + root.pageCount
                                            + (root.cycling ? " (turns every " + root.pageSeconds + " s)" : "") + " · "
                                          : "") + root.model.footer
                color: root.dim
                font.pixelSize: root.smallPx
                wrapMode: Text.Wrap
                onHeightChanged: flowLayout.schedule()
            }
        }
    }

    // Places the blocks: down a column; a block that does not fit starts the
    // next column, then the next page (a title goes with its first row). Page
    // 1 starts below the header. Heights come from the wrapped texts, so it
    // runs again (once per event-loop turn) whenever one changes.
    QtObject {
        id: flowLayout
        readonly property int columns: Math.max(1, Math.floor((inner.width + root.columnGap)
                                                              / (root.minColumnWidth + root.columnGap)))
        readonly property real columnWidth: Math.floor((inner.width - (columns - 1) * root.columnGap) / columns)
        property var placement: []   // per block: {page, x, y} in `inner`
        property int pageCount: 1
        property bool pending: false
        onColumnWidthChanged: schedule()

        function schedule() {
            if (!pending) {
                pending = true
                Qt.callLater(run)
            }
        }
        function run() {
            pending = false
            const n = flow.count
            if (n !== root.blocks.length)
                return schedule()
            const bottom = footer.y - root.gap
            const top = p => p === 0 ? header.height + root.gap * 2 : 0
            const out = []
            let page = 0, column = 0, y = top(0)
            for (let i = 0; i < n; ++i) {
                const item = flow.itemAt(i)
                if (!item)
                    return schedule()
                let need = item.height
                if (item.keepWithNext && i + 1 < n && flow.itemAt(i + 1))
                    need += root.gap + flow.itemAt(i + 1).height
                if (y > top(page) && y + need > bottom) {
                    column += 1
                    if (column >= columns) {
                        column = 0
                        page += 1
                    }
                    y = top(page)
                }
                out.push({page: page, x: column * (columnWidth + root.columnGap), y: y})
                y += item.height + root.gap
            }
            placement = out
            pageCount = page + 1
            if (root.page >= pageCount)
                root.page = 0
        }
    }
}
