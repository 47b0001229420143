// settings/choices.h — the closed sets of stoa.conf: `display_power` and
// `video_engine` as C++ enums, with the one list of their names.
//
// Job: a name from the file becomes an enum once, when the file is parsed
// (settings/stoa_conf.h); past that point nobody compares these strings.
// Header-only and constexpr so that the platform layer, which takes the
// enum, needs no link to the settings library.
// Invariant: an enum's value is the index of its name in its name list.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>

namespace stoa::settings {

// How the screen is switched (platform/rpi/display_power.h).
enum class DisplayPower { Drm, Vcgencmd, Cec, None };
inline constexpr std::array<std::string_view, 4> kDisplayPowerNames{"drm", "vcgencmd", "cec", "none"};

// Which engine plays videos. Only the pipeline engine exists; `qt` (Qt's
// MediaPlayer, removed) stays a valid value so that an older stoa.conf
// keeps working, and plays with the pipeline engine.
enum class VideoEngine { Pipeline, RetiredQt };
inline constexpr std::array<std::string_view, 2> kVideoEngineNames{"pipeline", "qt"};

template <typename Enum, std::size_t N>
constexpr std::optional<Enum> enumFromName(const std::array<std::string_view, N> &names, std::string_view name)
{
    for (std::size_t i = 0; i < N; ++i)
        if (names[i] == name)
            return static_cast<Enum>(i);
    return std::nullopt;
}

constexpr std::optional<DisplayPower> displayPowerFromName(std::string_view name)
{
    return enumFromName<DisplayPower>(kDisplayPowerNames, name);
}
constexpr std::string_view nameOf(DisplayPower p) { return kDisplayPowerNames[static_cast<std::size_t>(p)]; }

constexpr std::optional<VideoEngine> videoEngineFromName(std::string_view name)
{
    return enumFromName<VideoEngine>(kVideoEngineNames, name);
}
constexpr std::string_view nameOf(VideoEngine e) { return kVideoEngineNames[static_cast<std::size_t>(e)]; }

} // namespace stoa::settings
