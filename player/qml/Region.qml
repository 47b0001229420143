// Region.qml — one RegionPlayer (player/region_player.h) on the stage: its
// two slots at its rectangle of the rotated screen (fractions times the
// stage's size), stacked by its z, the content clipped to the rectangle (a
// `cover` image or a ticker stays inside). With nothing to show it draws
// nothing: a region whose playlist cannot play is transparent (spec §12).
import QtQuick

Item {
    id: root
    required property QtObject region
    required property real stageWidth
    required property real stageHeight

    objectName: "region_" + region.regionId
    x: Math.round(region.rect.x * stageWidth)
    y: Math.round(region.rect.y * stageHeight)
    width: Math.round((region.rect.x + region.rect.width) * stageWidth) - x
    height: Math.round((region.rect.y + region.rect.height) * stageHeight) - y
    z: region.z
    clip: true

    MediaSlot {
        objectName: "slotA"
        anchors.fill: parent
        slot: root.region.slotA
        slotIndex: 0
        playback: root.region
    }
    MediaSlot {
        objectName: "slotB"
        anchors.fill: parent
        slot: root.region.slotB
        slotIndex: 1
        playback: root.region
    }
}
