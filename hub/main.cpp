// stoa-hub — the fleet hub (hub/cli.h). Thin: logging, Qt, then the CLI.
#include "endpoints/log_format.h"
#include "hub/cli.h"

#include <QCoreApplication>

int main(int argc, char **argv)
{
    stoa::endpoints::installLogFormat();
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName("stoa-hub");
    QCoreApplication::setApplicationVersion(STOA_VERSION);
    return stoa::hub::runCli(std::vector<std::string>(argv + 1, argv + argc));
}
