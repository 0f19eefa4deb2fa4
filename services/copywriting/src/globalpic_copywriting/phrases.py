"""The offline writer's phrase banks: what may be said of a product without knowing more.

Every phrase is a use, an occasion or a way to style the product: none states a number, a
material, a certification or a performance figure (those come only from the facts), none is a
promotion. Titles use the ``uses`` (Title Case); bullets and descriptions the ``moments``
(sentences). Hashtags are CamelCase words a spell checker can split and read.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bank:
    uses: tuple[str, ...]  # title phrases: "for {use}"
    moments: tuple[str, ...]  # sentences on when it is used
    style: tuple[str, ...]  # sentences on how it looks or fits in
    gift: str  # who it suits as a present
    hashtags: tuple[str, ...]


_GENERAL = Bank(
    uses=("Home and Office", "Everyday Use", "Daily Life", "Gifting", "Family and Friends"),
    moments=(
        "A practical pick for everyday use at home or at work.",
        "Made to fit into daily routines without fuss.",
        "Handy to keep within reach wherever the day takes you.",
    ),
    style=(
        "Clean lines that sit well with most interiors.",
        "A simple look that matches the photos shown.",
    ),
    gift="family, friends and colleagues",
    hashtags=("#MustHave", "#EverydayEssentials", "#HomeFinds", "#GiftIdeas", "#ShopSmall"),
)

BANKS: dict[str, Bank] = {
    "general": _GENERAL,
    "drinkware": Bank(
        uses=(
            "Home, Office and Travel",
            "Commute and Gym",
            "Hiking and Camping",
            "Desk and Car",
            "School and Work",
        ),
        moments=(
            "Take it on the commute, to the gym or on a weekend hike.",
            "Keeps your favorite drink close at the desk, in the car or on the go.",
            "A good companion for school runs, road trips and long workdays.",
        ),
        style=(
            "A sleek shape that slips into bags and cup holders.",
            "A clean finish that looks good on any desk.",
        ),
        gift="coffee lovers, hikers and busy commuters",
        hashtags=("#Drinkware", "#StayHydrated", "#WaterBottle", "#CommuteEssentials", "#OnTheGo"),
    ),
    "beverage": Bank(
        uses=(
            "Home and Office Pantry",
            "Picnics and Travel",
            "Everyday Refreshment",
            "Lunch Boxes and Meetings",
            "Parties and Gatherings",
        ),
        moments=(
            "Stock the pantry, the office fridge or the car for the week ahead.",
            "Easy to grab for picnics, road trips and long meetings.",
            "Serve it chilled at gatherings or keep one in your bag.",
        ),
        style=(
            "The original packaging, exactly as shown in the photos.",
            "A familiar label that is easy to spot on the shelf.",
        ),
        gift="households, offices and party hosts",
        hashtags=("#Refreshment", "#PantryStaples", "#StayHydrated", "#Picnic", "#OfficeSnacks"),
    ),
    "food": Bank(
        uses=("Snack Time", "Lunch Boxes", "Tea Time", "Office Pantry", "Sharing"),
        moments=(
            "Perfect for lunch boxes, tea breaks and movie nights.",
            "Keep a pack in the pantry or your desk drawer.",
            "Easy to share with family and friends.",
        ),
        style=("The original packaging, as shown in the photos.",),
        gift="snack lovers and office teams",
        hashtags=("#SnackTime", "#PantryStaples", "#TeaTime", "#Foodie", "#Treats"),
    ),
    "apparel": Bank(
        uses=(
            "Casual Everyday Wear",
            "Work and Weekend",
            "Travel and Vacation",
            "Layering",
            "Lounge and Outings",
        ),
        moments=(
            "Easy to wear from weekday errands to weekend plans.",
            "Pairs with jeans, skirts or shorts for an effortless look.",
            "A versatile piece to pack for trips and long weekends.",
        ),
        style=(
            "A clean cut that layers under jackets and cardigans.",
            "Simple styling that mixes with the rest of your wardrobe.",
        ),
        gift="friends, partners and family members",
        hashtags=("#EverydayStyle", "#CasualStyle", "#Wardrobe", "#StyleIdeas"),
    ),
    "bags": Bank(
        uses=(
            "School, Work and Travel",
            "Daily Commute",
            "Weekend Trips",
            "City Errands",
            "Campus and Office",
        ),
        moments=(
            "Carry your essentials to class, the office or on a weekend away.",
            "Room for the things you take every day.",
            "A dependable companion for commutes and short trips.",
        ),
        style=(
            "A tidy silhouette that suits casual and smart outfits.",
            "Simple lines that go with everyday looks.",
        ),
        gift="students, commuters and travelers",
        hashtags=("#EverydayCarry", "#BagLovers", "#CommuteStyle", "#TravelStyle", "#OnTheGo"),
    ),
    "electronics": Bank(
        uses=(
            "Home, Office and Travel",
            "Work and Study",
            "Daily Commute",
            "Desk Setup",
            "Everyday Gadgets",
        ),
        moments=(
            "Fits into your desk setup at home or at the office.",
            "Easy to pack for commutes, trips and study sessions.",
            "a handy addition to your everyday kit.",
        ),
        style=(
            "A minimal design that matches most devices.",
            "A neat look for desks, bags and nightstands.",
        ),
        gift="students, gamers and remote workers",
        hashtags=("#GadgetLovers", "#DeskSetup", "#Gadgets", "#WorkFromHome", "#GadgetGifts"),
    ),
    "kitchen": Bank(
        uses=(
            "Home Cooking",
            "Everyday Meals",
            "Family Dinners",
            "Kitchen Essentials",
            "Weekend Brunch",
        ),
        moments=(
            "Ready for weeknight dinners, weekend brunch and family meals.",
            "A kitchen staple for everyday cooking.",
            "Helps you cook the dishes you love at home.",
        ),
        style=(
            "A clean design that looks at home in any kitchen.",
            "Simple lines that match your other cookware.",
        ),
        gift="home cooks, newlyweds and new homeowners",
        hashtags=(
            "#HomeCooking",
            "#KitchenEssentials",
            "#Foodie",
            "#CookingAtHome",
            "#KitchenFinds",
        ),
    ),
    "home": Bank(
        uses=(
            "Living Room and Bedroom",
            "Home and Office",
            "Dorm and Apartment",
            "Everyday Organization",
            "Cozy Corners",
        ),
        moments=(
            "Brings order and comfort to living rooms, bedrooms and offices.",
            "A handy addition to dorms, apartments and family homes.",
            "Made for the spaces you use every day.",
        ),
        style=(
            "A simple look that blends with most interiors.",
            "Clean lines for a calm, tidy room.",
        ),
        gift="new homeowners, students and families",
        hashtags=("#HomeDecor", "#HomeFinds", "#CozyHome", "#Organization", "#InteriorStyle"),
    ),
    "beauty": Bank(
        uses=("Daily Routine", "Self Care", "Travel Kit", "Evening Routine", "Makeup Bag"),
        moments=(
            "Slots into your morning or evening routine.",
            "Small enough for the makeup bag and the travel kit.",
            "A little moment of self care at the end of the day.",
        ),
        style=("Packaging exactly as shown in the photos.", "A neat look on any vanity."),
        gift="friends, sisters and self care fans",
        hashtags=("#SelfCare", "#BeautyRoutine", "#Makeup", "#BeautyFinds", "#GlowUp"),
    ),
    "toys": Bank(
        uses=(
            "Kids and Family Play",
            "Playtime",
            "Family Game Night",
            "Creative Play",
            "Rainy Days",
        ),
        moments=(
            "Hours of creative play at home, on trips and on rainy days.",
            "A fun way to play together as a family.",
            "Encourages imaginative play and building together.",
        ),
        style=("Bright, playful looks as shown in the photos.",),
        gift="kids, grandchildren and families",
        hashtags=("#Playtime", "#KidsToys", "#FamilyFun", "#CreativePlay", "#ToyFinds"),
    ),
    "jewelry": Bank(
        uses=("Everyday Wear", "Date Night", "Weddings and Parties", "Layering", "Office Style"),
        moments=(
            "Easy to wear every day or dress up for an evening out.",
            "Adds a finishing touch to work and weekend outfits.",
            "Layer it or wear it on its own.",
        ),
        style=("A delicate look that goes with most outfits.", "Simple, timeless styling."),
        gift="partners, mothers, daughters and best friends",
        hashtags=("#JewelryLovers", "#Accessories", "#EverydayStyle", "#GiftIdeas", "#StyleIdeas"),
    ),
}

# The five A/B angles, in order: what each variant leads with.
ANGLES: tuple[str, ...] = ("facts", "use", "gift", "look", "search")
ANGLE_ZH: dict[str, str] = {
    "facts": "突出材质与规格，买家一眼看到关键信息",
    "use": "突出使用场景，让买家想象日常怎么用",
    "gift": "突出送礼，适合节日和礼品搜索",
    "look": "突出颜色与外观，配合主图展示",
    "search": "突出买家常搜的关键词，利于搜索曝光",
}
FACT_ZH: dict[str, str] = {
    "brand": "品牌",
    "material": "材质",
    "color": "颜色",
    "spec": "规格",
    "feature": "卖点",
    "audience": "适用人群",
    "keywords": "关键词",
}
PLATFORM_ZH: dict[str, str] = {
    "amazon": "亚马逊标题不含促销词，五点描述逐条列出事实",
    "ebay": "eBay 标题限 80 字符，关键词靠前",
    "shopify": "Shopify SEO 标题和描述控制在搜索结果可显示的长度内",
    "tiktok": "TikTok 文案短而直接，话题标签 3 到 5 个",
    "instagram": "Instagram 文案口语化，话题标签不超过 5 个",
    "facebook": "Facebook 文案简短友好，话题标签 1 到 3 个",
}


def bank(category: str) -> Bank:
    return BANKS.get(category, _GENERAL)
