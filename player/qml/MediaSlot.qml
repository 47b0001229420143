// MediaSlot.qml — renders one slot of a RegionPlayer (player/media_slot.h,
// player/region_player.h) and reports back to it (`playback`): ready (image
// decoded / first video frame / text laid out), failed, ended.
// A hidden slot loads its item without being drawn; a hidden video plays to
// its first frame and pauses there, so showing it is a single-frame switch.
// Images are decoded at the slot's size (sourceSize): an 8000 px photo costs
// a screen's worth of memory, not its own.
// v1.1 §13 crop: images and videos alike sit in a clipping window, scaled so
// the crop rectangle (fractions of the source picture) is fitted by `fit`
// (cropGeometry). Done here, not with GStreamer's videocrop, because images
// need it too and the scene graph scales a texture for free, where a crop in
// the pipeline is one more copy of every frame on a Pi's CPU.
import QtQuick
import QtMultimedia
import Stoa.Player

Item {
    id: root
    required property QtObject slot
    required property int slotIndex
    required property QtObject playback

    // A hidden web slot stays visible for Chromium (it renders only visible
    // views); WebContent.qml draws it at opacity 0 until the slot is shown.
    visible: slot.shown || slot.kind === "web"
    z: slot.z

    function imageFill(fit) {
        return fit === "cover" ? Image.PreserveAspectCrop : fit === "stretch" ? Image.Stretch : Image.PreserveAspectFit
    }
    function videoFill(fit) {
        return fit === "cover" ? VideoOutput.PreserveAspectCrop : fit === "stretch" ? VideoOutput.Stretch : VideoOutput.PreserveAspectFit
    }

    // v1.1 §14: a live stream plays through the video path (a live pipeline).
    readonly property bool isVideo: slot.kind === "video" || slot.kind === "stream"
    readonly property bool isStream: slot.kind === "stream"

    readonly property rect crop: slot.crop
    readonly property bool cropped: crop.x > 0 || crop.y > 0 || crop.width < 1 || crop.height < 1
    // Where a source picture of srcW x srcH goes so that its crop rectangle
    // is fitted by `fit` in the slot: the window (w*, clipped: the crop only)
    // and the whole picture inside it (p*, stretched to that size). Without
    // a crop (or before the picture's size is known) both are the slot, and
    // the fill mode fits the picture as always.
    function cropGeometry(srcW, srcH) {
        const w = root.width, h = root.height
        if (!root.cropped || srcW <= 0 || srcH <= 0)
            return { wx: 0, wy: 0, ww: w, wh: h, px: 0, py: 0, pw: w, ph: h }
        const c = root.crop
        const cw = c.width * srcW, ch = c.height * srcH
        let sx = w / cw, sy = h / ch
        if (root.slot.fit === "cover")
            sx = sy = Math.max(sx, sy)
        else if (root.slot.fit !== "stretch")
            sx = sy = Math.min(sx, sy)
        const fx = (w - cw * sx) / 2, fy = (h - ch * sy) / 2
        const wx = Math.max(0, fx), wy = Math.max(0, fy)
        return { wx: wx, wy: wy, ww: Math.min(w, cw * sx), wh: Math.min(h, ch * sy),
                 px: fx - c.x * srcW * sx - wx, py: fy - c.y * srcH * sy - wy, pw: srcW * sx, ph: srcH * sy }
    }

    Item {
        id: imageWindow
        readonly property var g: root.cropGeometry(image.implicitWidth, image.implicitHeight)
        x: g.wx
        y: g.wy
        width: g.ww
        height: g.wh
        clip: root.cropped
        Image {
            id: image
            objectName: "slotImage" // tests check its decoded size
            x: imageWindow.g.px
            y: imageWindow.g.py
            width: imageWindow.g.pw
            height: imageWindow.g.ph
            asynchronous: true
            cache: false
            smooth: true
            // Cropped: decoded so the crop, not the whole picture, has the slot's size (within 4096 px).
            sourceSize: root.cropped ? Qt.size(Math.min(4096, root.width / root.crop.width),
                                               Math.min(4096, root.height / root.crop.height))
                                     : Qt.size(root.width, root.height)
            fillMode: root.cropped ? Image.Stretch : root.imageFill(root.slot.fit)
            source: root.slot.kind === "image" && root.width > 0 ? root.slot.source : ""
            onStatusChanged: {
                if (root.slot.kind !== "image" || source == "")
                    return
                if (status === Image.Ready)
                    root.playback.slotReady(root.slotIndex, root.slot.generation)
                else if (status === Image.Error)
                    root.playback.slotFailed(root.slotIndex, root.slot.generation, "cannot decode the image")
            }
        }
    }

    // Video: the player's own GStreamer pipeline per item
    // (player/video_pipeline.h), built and torn down off the GUI thread; a
    // hidden one prerolls, so its first frame is in the sink. The
    // VideoOutput stays for the slot's life (creating one per item cost the
    // GUI thread ~30 ms right at the switch); only the pipeline and its
    // watch come and go with the item, and the pipeline clears the output's
    // frame when it goes.
    Item {
        id: videoWindow
        readonly property var g: root.cropGeometry(pipedOutput.sourceRect.width, pipedOutput.sourceRect.height)
        x: g.wx
        y: g.wy
        width: g.ww
        height: g.wh
        clip: root.cropped
        visible: root.isVideo
        VideoOutput {
            id: pipedOutput
            objectName: "slotVideo" // tests read the frame it shows
            x: videoWindow.g.px
            y: videoWindow.g.py
            width: videoWindow.g.pw
            height: videoWindow.g.ph
            fillMode: root.cropped ? VideoOutput.Stretch : root.videoFill(root.slot.fit)
        }
    }
    // A stream (v1.1 §14) is the same pipeline, live: it plays while hidden
    // (muted) so its first frame makes it Ready and it stays at the live
    // edge; it is watched for stalls from that first frame on, shown or
    // not, with a shorter window (MediaSlot::streamStallMs) so that it is
    // replaced within the spec's 5 s; its end is a failure. Nothing of a
    // failure is drawn: the player reports it and shows the next item.
    Loader {
        active: root.isVideo
        sourceComponent: Item {
            id: piped
            property int generation: -1
            property bool ended: false // at its end, holding the last frame: not a stall
            // Read from the slot itself, not root.isStream: the Loader may
            // create this while that binding still holds the previous kind.
            readonly property bool live: root.slot.kind === "stream"

            function fail(reason) {
                root.playback.slotFailed(root.slotIndex, piped.generation, reason)
            }

            VideoPipeline {
                id: pipeline
                live: piped.live
                sink: pipedOutput.videoSink
                playing: root.slot.playing
                muted: !root.slot.shown
                onFailed: (reason) => piped.fail(reason)
                // v1.1 §13: the frame a hidden slot was sought to is in the sink.
                onSought: root.playback.slotSought(root.slotIndex, piped.generation)
                onEnded: {
                    if (pipedWatch.frames === 0) {
                        piped.fail("the video ended before its first frame")
                    } else {
                        piped.ended = true
                        root.playback.slotEnded(root.slotIndex, piped.generation)
                    }
                }
            }
            VideoWatch {
                id: pipedWatch
                property int frames: 0
                sink: pipedOutput.videoSink
                active: piped.live || (root.slot.playing && !piped.ended)
                stallMs: piped.live ? root.slot.streamStallMs : 5000
                onFirstFrame: {
                    frames = 1
                    root.playback.slotReady(root.slotIndex, piped.generation)
                }
                onStalled: piped.fail(piped.live ? "the stream stalled (no frame for " + stallMs + " ms)" : "stalled for 5 s")
            }
            // v1.1 §13: a synchronised video that comes after its slot began
            // is sought, hidden, to where the slot will stand when it is
            // shown (RegionPlayer::positionHidden).
            Connections {
                target: root.slot
                function onSeekRequested(ms) { pipeline.seek(ms) }
            }
            Component.onCompleted: {
                generation = root.slot.generation
                pipeline.source = root.slot.source
            }
        }
    }

    // Web items (docs/web.md): WebContent.qml, loaded by URL so this file
    // does not import QtWebEngine (a build without it has no such file and
    // skips web items before they reach a slot). One view per item: it goes,
    // with its page, when the slot is released.
    Loader {
        anchors.fill: parent
        active: root.slot.kind === "web"
        asynchronous: true
        source: active ? "WebContent.qml" : ""
        onLoaded: {
            item.slotState = root.slot
            item.slotIndex = root.slotIndex
            item.playback = root.playback
            item.begin()
        }
        onStatusChanged: {
            if (status === Loader.Error)
                root.playback.slotFailed(root.slotIndex, root.slot.generation, "web content cannot be created")
        }
    }

    // Text items (v1.1 §12): the background (if any) fills the slot; a
    // static text is centred and scaled down to fit (wrapped at word
    // boundaries); a ticker moves right to left once per duration, from
    // just outside the right edge until it left the slot on the left, on
    // the render thread (XAnimator: the GUI thread's work does not stall it).
    // Plain text only: markup in the manifest is shown as written.
    Loader {
        anchors.fill: parent
        active: root.slot.kind === "text"
        sourceComponent: Rectangle {
            id: textContent
            objectName: "slotText"
            property int generation: -1
            color: root.slot.textBackground !== "" ? root.slot.textBackground : "transparent"
            clip: true

            function reportReady() {
                root.playback.slotReady(root.slotIndex, textContent.generation)
            }

            Text {
                visible: !root.slot.textScroll
                anchors.fill: parent
                anchors.margins: Math.round(Math.min(parent.width, parent.height) * 0.05)
                text: root.slot.text
                textFormat: Text.PlainText
                color: root.slot.textColor
                horizontalAlignment: Text.AlignHCenter
                verticalAlignment: Text.AlignVCenter
                wrapMode: Text.Wrap
                fontSizeMode: Text.Fit
                minimumPixelSize: 6
                font.pixelSize: Math.max(6, height)
            }
            Text {
                id: ticker
                visible: root.slot.textScroll
                x: textContent.width
                y: Math.round((textContent.height - height) / 2)
                text: root.slot.text
                textFormat: Text.PlainText
                color: root.slot.textColor
                font.pixelSize: Math.max(6, Math.round(textContent.height * 0.6))
            }
            XAnimator {
                target: ticker
                from: textContent.width
                to: -ticker.width
                duration: Math.max(1, root.slot.durationMs)
                running: root.slot.textScroll && root.slot.playing
            }
            // Reported after this load() returned: Playback must not switch
            // from inside the call that loads the slot.
            Component.onCompleted: {
                generation = root.slot.generation
                Qt.callLater(reportReady)
            }
        }
    }

    // Optional cross-fade: the incoming slot fades in over the outgoing one,
    // which Playback keeps on screen for the fade's duration.
    NumberAnimation {
        id: fadeIn
        target: root
        property: "opacity"
        from: 0
        to: 1
        duration: root.slot.fadeMs
    }
    Connections {
        target: root.slot
        function onShownChanged() {
            if (root.slot.shown && root.slot.fadeMs > 0) {
                root.opacity = 0
                fadeIn.restart()
            } else {
                fadeIn.stop()
                root.opacity = 1
            }
        }
    }
}
